//! Media over the wire, on both stores (a local directory with URLs Switchboard
//! signs and serves; an S3-compatible server, moto, with presigned URLs): a file goes
//! up through its upload URL, is confirmed (checksum, thumbnail), rides on a message
//! and comes back down; expired, lying, wrongly typed and foreign uploads are refused,
//! and only participants read a file's metadata.

use std::io::Cursor;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use switchboard_tools::client::SioClient;

use crate::common::{Session, TestServer, assert_error, services};

/// A PNG photo-like test image.
pub(crate) fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A server whose files live in a bucket of its own on the test S3 server.
async fn s3_server(extra: &[(&str, &str)]) -> TestServer {
    let endpoint = services::s3_url();
    let bucket = format!("sbtest-{}", uuid::Uuid::now_v7().simple());
    let res = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .expect("S3 server reachable");
    assert!(res.status().is_success(), "bucket not created: {res:?}");
    let mut vars = vec![
        ("MEDIA_STORE", "s3"),
        ("MEDIA_S3_BUCKET", bucket.as_str()),
        ("MEDIA_S3_ENDPOINT", endpoint.as_str()),
        ("MEDIA_S3_ACCESS_KEY_ID", "test"),
        ("MEDIA_S3_SECRET_ACCESS_KEY", "test"),
    ];
    vars.extend_from_slice(extra);
    TestServer::start_with(&vars).await
}

/// A URL from the server: relative ones are on the server itself.
fn absolute(s: &TestServer, url: &str) -> String {
    if url.starts_with('/') {
        format!("{}{url}", s.base)
    } else {
        url.to_string()
    }
}

pub(crate) async fn upload_url(
    s: &TestServer,
    who: &Session,
    conv: &str,
    name: &str,
    content_type: &str,
    size: usize,
) -> (StatusCode, Value) {
    s.post(
        "/v1/chat/media/upload-url",
        Some(&who.access),
        json!({"file_name": name, "content_type": content_type, "size": size,
               "conversation_id": conv}),
    )
    .await
}

/// PUTs `bytes` to a ticket's URL with its headers, `content_type` overriding.
pub(crate) async fn put_bytes(
    s: &TestServer,
    ticket: &Value,
    bytes: Vec<u8>,
    content_type: Option<&str>,
) -> reqwest::Response {
    assert_eq!(ticket["method"], "PUT");
    let mut req = s
        .http
        .put(absolute(s, ticket["upload_url"].as_str().unwrap()))
        .body(bytes);
    for (k, v) in ticket["headers"].as_object().unwrap() {
        let v = match (k.eq_ignore_ascii_case("content-type"), content_type) {
            (true, Some(ct)) => ct,
            _ => v.as_str().unwrap(),
        };
        req = req.header(k, v);
    }
    req.send().await.expect("upload sent")
}

pub(crate) async fn confirm(
    s: &TestServer,
    who: &Session,
    id: &str,
    body: Value,
) -> (StatusCode, Value) {
    s.post(
        &format!("/v1/chat/media/{id}/confirm"),
        Some(&who.access),
        body,
    )
    .await
}

async fn download(s: &TestServer, url: &str) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let res = s.http.get(absolute(s, url)).send().await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    (status, headers, res.bytes().await.unwrap().to_vec())
}

/// The whole path a user takes: upload URL, PUT, confirm, send with the file,
/// the peer sees it live and in history, downloads it and its thumbnail.
async fn a_photo_goes_up_and_comes_down(s: &TestServer) {
    let ann = s.signup("ann@media.test").await;
    let bob = s.add_member(&ann, "bob@media.test").await;
    let conv = s.direct_chat(&ann, &bob).await;
    let photo = png(640, 480);

    let (st, ticket) = upload_url(
        s,
        &ann,
        &conv,
        "holiday/beach.png",
        "image/png",
        photo.len(),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{ticket}");
    assert_eq!(ticket["headers"]["Content-Type"], "image/png");
    let id = ticket["id"].as_str().unwrap().to_string();
    // Pending: the uploader sees it without URLs, the peer not at all.
    let (st, pending) = s
        .get(&format!("/api/v1/chat/media/{id}"), &ann.access)
        .await;
    assert_eq!(st, StatusCode::OK, "{pending}");
    assert_eq!(pending["status"], "pending");
    assert_eq!(pending["file_name"], "beach.png", "the path is dropped");
    assert!(pending["cdn_url"].is_null());
    assert_error(
        &s.get(&format!("/v1/chat/media/{id}"), &bob.access).await,
        404,
        "NOT_FOUND",
    );

    let res = put_bytes(s, &ticket, photo.clone(), None).await;
    assert!(
        res.status().is_success(),
        "upload refused: {}",
        res.text().await.unwrap()
    );
    let (st, file) = confirm(s, &ann, &id, Value::Null).await;
    assert_eq!(st, StatusCode::OK, "{file}");
    assert_eq!(file["status"], "confirmed");
    assert_eq!(file["checksum_sha256"], sha256(&photo));
    assert_eq!(
        (file["width"].as_i64(), file["height"].as_i64()),
        (Some(640), Some(480))
    );
    assert_eq!(file["size"], photo.len());
    assert!(file["thumbnail_url"].is_string(), "{file}");
    // Confirming again changes nothing.
    let (st, again) = confirm(s, &ann, &id, Value::Null).await;
    assert_eq!(
        (st, &again["checksum_sha256"]),
        (StatusCode::OK, &file["checksum_sha256"])
    );

    let mut bob_live = SioClient::connect(&s.base, Some(json!({"token": bob.access})), "")
        .await
        .unwrap();
    let (st, sent) = s
        .post(
            "/v1/chat/messages/send",
            Some(&ann.access),
            json!({"conversation_id": conv, "attachment_ids": [id]}),
        )
        .await;
    assert!(st.is_success(), "{sent}");
    let sent = if sent["message"].is_object() {
        sent["message"].clone()
    } else {
        sent
    };
    assert_eq!(sent["attachments"][0]["id"], id.as_str(), "{sent}");
    let live = bob_live
        .expect("response_message", std::time::Duration::from_secs(15))
        .await
        .expect("bob hears the message");
    assert_eq!(live["attachments"][0]["id"], id.as_str(), "{live}");
    assert_eq!(live["attachments"][0]["content_type"], "image/png");

    let (st, history) = s
        .get(
            &format!("/v1/chat/conversations/{conv}/messages"),
            &bob.access,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{history}");
    let list = history["messages"]
        .as_array()
        .or(history["items"].as_array())
        .or(history.as_array())
        .unwrap_or_else(|| panic!("a list of messages: {history}"));
    let with_file = list
        .iter()
        .find(|m| !m["attachments"].as_array().unwrap().is_empty())
        .expect("the message with the file");
    let seen = &with_file["attachments"][0];
    assert_eq!(seen["checksum_sha256"], sha256(&photo));

    // Bob, a participant, reads the metadata and downloads both files.
    let (st, meta) = s.get(&format!("/v1/chat/media/{id}"), &bob.access).await;
    assert_eq!(st, StatusCode::OK, "{meta}");
    assert_eq!(meta["message_id"], sent["id"]);
    let (st, headers, body) = download(s, seen["cdn_url"].as_str().unwrap()).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(sha256(&body), sha256(&photo), "the same bytes come back");
    assert_eq!(headers["content-type"], "image/png");
    let (st, headers, thumb) = download(s, seen["thumbnail_url"].as_str().unwrap()).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(headers["content-type"], "image/jpeg");
    let thumb = image::load_from_memory(&thumb).expect("the thumbnail is an image");
    assert_eq!((thumb.width(), thumb.height()), (320, 240));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_store_a_photo_goes_up_and_comes_down() {
    a_photo_goes_up_and_comes_down(&TestServer::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_store_a_photo_goes_up_and_comes_down() {
    a_photo_goes_up_and_comes_down(&s3_server(&[]).await).await;
}

/// A confirmed file is immutable: its upload URL, used again with other bytes, is
/// refused (the embedded store) or lands nowhere anyone reads (S3, whose presigned
/// URLs cannot be revoked); the file served is still the one confirmed, checksum and
/// thumbnail included.
async fn a_confirmed_upload_cannot_be_replaced(s: &TestServer, refused_at_the_door: bool) {
    let ann = s.signup("ann@immutable.test").await;
    let bob = s.add_member(&ann, "bob@immutable.test").await;
    let conv = s.direct_chat(&ann, &bob).await;
    let photo = png(64, 48);
    let (st, ticket) = upload_url(s, &ann, &conv, "a.png", "image/png", photo.len()).await;
    assert_eq!(st, StatusCode::OK, "{ticket}");
    let id = ticket["id"].as_str().unwrap().to_string();
    assert!(
        put_bytes(s, &ticket, photo.clone(), None)
            .await
            .status()
            .is_success()
    );
    let (st, file) = confirm(s, &ann, &id, Value::Null).await;
    assert_eq!(st, StatusCode::OK, "{file}");

    let other: Vec<u8> = photo.iter().map(|b| b ^ 0x5a).collect();
    let again = put_bytes(s, &ticket, other, None).await;
    if refused_at_the_door {
        assert_eq!(
            again.status(),
            StatusCode::FORBIDDEN,
            "a confirmed upload's URL is dead"
        );
    }
    let (st, after) = confirm(s, &ann, &id, Value::Null).await;
    assert_eq!(st, StatusCode::OK, "{after}");
    assert_eq!(after["checksum_sha256"], sha256(&photo));
    let (st, headers, body) = download(s, after["cdn_url"].as_str().unwrap()).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(
        sha256(&body),
        sha256(&photo),
        "the confirmed bytes, not the later PUT"
    );
    let (st, _, thumb) = download(s, after["thumbnail_url"].as_str().unwrap()).await;
    assert_eq!(st, StatusCode::OK);
    image::load_from_memory(&thumb).expect("the thumbnail is still an image");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_store_a_confirmed_upload_cannot_be_replaced() {
    a_confirmed_upload_cannot_be_replaced(&TestServer::start().await, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_store_a_confirmed_upload_cannot_be_replaced() {
    a_confirmed_upload_cannot_be_replaced(&s3_server(&[]).await, false).await;
}

/// Uploads that are refused, on either store, and what they leave behind (nothing).
async fn bad_uploads_are_refused(s: &TestServer) {
    let ann = s.signup("ann@refuse.test").await;
    let bob = s.add_member(&ann, "bob@refuse.test").await;
    let conv = s.direct_chat(&ann, &bob).await;

    // Types and sizes the server does not take, before any URL is handed out.
    let res = upload_url(s, &ann, &conv, "setup.exe", "application/x-msdownload", 10).await;
    assert!(assert_error(&res, 400, "VALIDATION_ERROR").contains("content_type"));
    let res = upload_url(s, &ann, &conv, "big.mp4", "video/mp4", 26 * 1024 * 1024).await;
    assert_error(&res, 413, "PAYLOAD_TOO_LARGE");
    let res = upload_url(s, &ann, &conv, "empty.txt", "text/plain", 0).await;
    assert_error(&res, 400, "VALIDATION_ERROR");

    // A size lie: 100 bytes declared, 60 sent. Confirm refuses it and deletes the
    // object, so confirming again finds nothing.
    let (_, ticket) = upload_url(s, &ann, &conv, "notes.txt", "text/plain", 100).await;
    let id = ticket["id"].as_str().unwrap().to_string();
    let res = put_bytes(s, &ticket, vec![b'x'; 60], None).await;
    assert!(res.status().is_success(), "{:?}", res.status());
    let msg = assert_error(
        &confirm(s, &ann, &id, Value::Null).await,
        400,
        "VALIDATION_ERROR",
    );
    assert!(msg.contains("size"), "{msg}");
    assert_error(&confirm(s, &ann, &id, Value::Null).await, 409, "CONFLICT");
    let (_, still) = s.get(&format!("/v1/chat/media/{id}"), &ann.access).await;
    assert_eq!(still["status"], "pending");
    // An unconfirmed file cannot ride on a message.
    let res = s
        .post(
            "/v1/chat/messages/send",
            Some(&ann.access),
            json!({"conversation_id": conv, "attachment_ids": [id]}),
        )
        .await;
    assert_error(&res, 400, "VALIDATION_ERROR");

    // A wrong type: declared PNG, the bytes are text.
    let text = b"definitely not a picture".to_vec();
    let (_, ticket) = upload_url(s, &ann, &conv, "fake.png", "image/png", text.len()).await;
    let res = put_bytes(s, &ticket, text, None).await;
    assert!(res.status().is_success());
    let msg = assert_error(
        &confirm(s, &ann, ticket["id"].as_str().unwrap(), Value::Null).await,
        400,
        "VALIDATION_ERROR",
    );
    assert!(msg.contains("content_type"), "{msg}");

    // Someone else's upload: not theirs to confirm, nor to attach.
    let (_, ticket) = upload_url(s, &ann, &conv, "a.txt", "text/plain", 5).await;
    let other = ticket["id"].as_str().unwrap();
    assert!(
        put_bytes(s, &ticket, b"hello".to_vec(), None)
            .await
            .status()
            .is_success()
    );
    assert_error(
        &confirm(s, &bob, other, Value::Null).await,
        404,
        "NOT_FOUND",
    );
    let (st, _) = confirm(s, &ann, other, Value::Null).await;
    assert_eq!(st, StatusCode::OK);
    let res = s
        .post(
            "/v1/chat/messages/send",
            Some(&bob.access),
            json!({"conversation_id": conv, "content": "mine now", "attachment_ids": [other]}),
        )
        .await;
    assert_error(&res, 400, "VALIDATION_ERROR");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_store_refuses_bad_uploads() {
    let s = TestServer::start().await;
    bad_uploads_are_refused(&s).await;

    // The embedded store's own URLs: a wrong Content-Type, more bytes than signed, a
    // tampered signature, and a PUT after the URL expired are all refused.
    let ann = s.login("ann@refuse.test", "correct horse battery").await;
    let (_, convs) = s.get("/v1/chat/conversations", &ann.access).await;
    let conv = convs
        .as_array()
        .or(convs["conversations"].as_array())
        .or(convs["items"].as_array())
        .and_then(|l| l.first().cloned())
        .unwrap_or_else(|| panic!("a conversation: {convs}"))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, ticket) = upload_url(&s, &ann, &conv, "pic.png", "image/png", 10).await;
    let res = put_bytes(&s, &ticket, vec![0; 10], Some("text/html")).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = put_bytes(&s, &ticket, vec![0; 11], None).await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let mut forged = ticket.clone();
    forged["upload_url"] = json!(
        ticket["upload_url"]
            .as_str()
            .unwrap()
            .replace("size=10", "size=99")
    );
    let res = put_bytes(&s, &forged, vec![0; 50], None).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let id = ticket["id"].as_str().unwrap();
    assert_error(&confirm(&s, &ann, id, Value::Null).await, 409, "CONFLICT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_store_upload_urls_expire() {
    let s = TestServer::start_with(&[("MEDIA_UPLOAD_URL_TTL_SECONDS", "1")]).await;
    let ann = s.signup("ann@expiry.test").await;
    let bob = s.add_member(&ann, "bob@expiry.test").await;
    let conv = s.direct_chat(&ann, &bob).await;
    let (_, ticket) = upload_url(&s, &ann, &conv, "late.txt", "text/plain", 5).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let res = put_bytes(&s, &ticket, b"hello".to_vec(), None).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{body}"
    );
    let id = ticket["id"].as_str().unwrap();
    assert_error(&confirm(&s, &ann, id, Value::Null).await, 409, "CONFLICT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_store_refuses_bad_uploads() {
    let s = s3_server(&[("MEDIA_UPLOAD_URL_TTL_SECONDS", "120")]).await;
    bad_uploads_are_refused(&s).await;

    // The presigned URL carries the expiry and binds the Content-Type to the
    // signature (S3 refuses a PUT after X-Amz-Expires or with another type; moto does
    // not check presigned signatures, so the server's confirm is what catches a wrong
    // type here, as it would a misbehaving store).
    let ann = s.login("ann@refuse.test", "correct horse battery").await;
    let bob = s.add_member(&ann, "bob2@refuse.test").await;
    let conv = s.direct_chat(&ann, &bob).await;
    let (_, ticket) = upload_url(&s, &ann, &conv, "pic.png", "image/png", 10).await;
    let url = reqwest::Url::parse(ticket["upload_url"].as_str().unwrap()).unwrap();
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["X-Amz-Expires"], "120", "{url}");
    assert!(q["X-Amz-SignedHeaders"].contains("content-type"), "{url}");
    let res = put_bytes(&s, &ticket, vec![0; 10], Some("text/html")).await;
    assert!(res.status().is_success());
    let msg = assert_error(
        &confirm(&s, &ann, ticket["id"].as_str().unwrap(), Value::Null).await,
        400,
        "VALIDATION_ERROR",
    );
    assert!(msg.contains("text/html"), "{msg}");
}

/// Who may read a file: participants of a conversation it is in (a forward takes it
/// along), not other members of the tenant, not other tenants.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_participants_read_a_file_and_forwards_take_it_along() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@share.test").await;
    let bob = s.add_member(&ann, "bob@share.test").await;
    let carol = s.add_member(&ann, "carol@share.test").await;
    let mallory = s.signup("mallory@elsewhere.test").await;
    let conv = s.direct_chat(&ann, &bob).await;

    let bytes = b"%PDF-1.4 minutes of the meeting".to_vec();
    let (_, ticket) = upload_url(
        &s,
        &ann,
        &conv,
        "minutes.pdf",
        "application/pdf",
        bytes.len(),
    )
    .await;
    let id = ticket["id"].as_str().unwrap().to_string();
    assert!(
        put_bytes(&s, &ticket, bytes.clone(), None)
            .await
            .status()
            .is_success()
    );
    // Strangers cannot even ask for an upload URL in the conversation.
    let res = upload_url(&s, &carol, &conv, "x.txt", "text/plain", 3).await;
    assert_error(&res, 403, "PERMISSION_ERROR");

    // Confirm attaches it to a message that is already there.
    let (st, msg) = s
        .post(
            "/v1/chat/messages/send",
            Some(&ann.access),
            json!({"conversation_id": conv, "content": "minutes attached"}),
        )
        .await;
    assert!(st.is_success(), "{msg}");
    let msg = if msg["message"].is_object() {
        msg["message"].clone()
    } else {
        msg
    };
    let msg_id = msg["id"].as_str().unwrap();
    let (st, file) = confirm(&s, &ann, &id, json!({"message_id": msg_id})).await;
    assert_eq!(st, StatusCode::OK, "{file}");
    assert_eq!(file["message_id"], msg_id);
    assert!(file["thumbnail_url"].is_null(), "no thumbnail for a PDF");
    let (_, history) = s
        .get(
            &format!("/v1/chat/conversations/{conv}/messages"),
            &bob.access,
        )
        .await;
    assert!(
        history.to_string().contains(&id),
        "bob's history shows the file: {history}"
    );

    let (st, _) = s.get(&format!("/v1/chat/media/{id}"), &bob.access).await;
    assert_eq!(st, StatusCode::OK);
    assert_error(
        &s.get(&format!("/v1/chat/media/{id}"), &carol.access).await,
        403,
        "PERMISSION_ERROR",
    );
    assert_error(
        &s.get(&format!("/v1/chat/media/{id}"), &mallory.access)
            .await,
        404,
        "NOT_FOUND",
    );
    // A download URL with its signature changed is refused.
    let (_, meta) = s.get(&format!("/v1/chat/media/{id}"), &bob.access).await;
    let url = meta["cdn_url"].as_str().unwrap();
    let (st, headers, body) = download(&s, url).await;
    assert_eq!((st, body), (StatusCode::OK, bytes.clone()));
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let (st, _, _) = download(&s, &url.replace("sig=", "sig=0")).await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    // Bob forwards the message to a chat with Carol: she can read the file now.
    let to_carol = s.direct_chat(&bob, &carol).await;
    let (st, fwd) = s
        .post(
            "/v1/chat/messages/forward",
            Some(&bob.access),
            json!({"message_id": msg_id, "conversation_ids": [to_carol]}),
        )
        .await;
    assert!(st.is_success(), "{fwd}");
    assert!(
        fwd.to_string().contains(&id),
        "the forward carries the file: {fwd}"
    );
    let (st, meta) = s.get(&format!("/v1/chat/media/{id}"), &carol.access).await;
    assert_eq!(st, StatusCode::OK, "{meta}");
    let (st, _, body) = download(&s, meta["cdn_url"].as_str().unwrap()).await;
    assert_eq!((st, body), (StatusCode::OK, bytes));
}
