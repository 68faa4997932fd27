//! Two server nodes on one database and one real Redis: a message sent through
//! node A reaches devices connected to node B (Socket.IO rooms via the Redis adapter).

use std::time::Duration;

use crate::common::TestServer;
use serde_json::json;
use switchboard_tools::client::SioClient;

const WAIT: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_sent_on_node_a_reaches_devices_on_node_b() {
    let (node_a, node_b) = TestServer::two_nodes().await;

    let ann = node_a.signup("ann@acme.test").await;
    let bob = node_a.add_member(&ann, "bob@acme.test").await;
    // Tokens from one node work on the other (shared secret and database).
    let a = SioClient::connect(&node_a.base, Some(json!({"token": ann.access})), "")
        .await
        .unwrap();
    let mut b_on_b = SioClient::connect(&node_b.base, Some(json!({"token": bob.access})), "")
        .await
        .unwrap();
    let mut a_on_b = SioClient::connect(&node_b.base, Some(json!({"token": ann.access})), "")
        .await
        .unwrap();

    let ack = a
        .emit_with_ack("create_chat", &json!({"receiver_id": bob.user_id}), WAIT)
        .await
        .unwrap();
    let chat = ack["data"]["id"].as_str().unwrap().to_string();
    let upd = b_on_b.expect("conversation_updated", WAIT).await.unwrap();
    assert_eq!(upd["payload"]["id"], chat.as_str());

    let ack = a
        .emit_with_ack(
            "create_message",
            &json!({"chat_id": chat, "message": "across nodes"}),
            WAIT,
        )
        .await
        .unwrap();
    assert_eq!(ack["status"], "ok", "{ack}");
    for dev in [&mut b_on_b, &mut a_on_b] {
        let m = dev.expect("response_message", WAIT).await.unwrap();
        assert_eq!(m["message"], "across nodes");
        assert_eq!(m["id"], ack["data"]["id"]);
    }

    // Channel subscriptions on node B hear typing from node A.
    let mut watcher = SioClient::connect(&node_b.base, Some(json!({"token": bob.access})), "")
        .await
        .unwrap();
    let ok = watcher
        .emit_with_ack(
            "subscribe",
            &json!({"channel": format!("conversation:{chat}")}),
            WAIT,
        )
        .await
        .unwrap();
    assert_eq!(ok["status"], "ok");
    a.emit("typing", &json!({"chat_id": chat})).unwrap();
    let t = watcher.expect("typing", WAIT).await.unwrap();
    assert_eq!(t["payload"]["user_id"], ann.user_id.as_str());
}
