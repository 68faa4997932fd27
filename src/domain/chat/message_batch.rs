//! One batch of new messages in a handful of statements, whatever its size: one read for
//! resent `client_msg_id`s, one `UPDATE … RETURNING` that moves every conversation's
//! `last_seq` by its rows' count, one multi-row insert, one update of the senders' read
//! markers; then each row's files and notifications. Anything unexpected (a `client_msg_id` stored
//! meanwhile by another node, a constraint) fails the batch, and the writer stores its rows
//! one by one instead ([`super::message_writer`]), where each case has its answer.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::{conversation_participants as cp, conversations, messages};
use sea_orm::sea_query::{CaseStatement, Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, ExprTrait, IntoActiveModel,
    QueryFilter, QuerySelect,
};
use uuid::Uuid;

use super::message_writer::{Pending, Stored};
use crate::domain::media::attachments::link_files;
use crate::error::{AppError, AppResult};

/// Stores `rows` in one transaction, in order, with gapless seqs per conversation.
pub(super) async fn write(db: &DatabaseConnection, rows: &[Pending]) -> AppResult<Vec<Stored>> {
    let tx = crate::domain::begin_write(db).await?;
    let mut out: Vec<Option<Stored>> = rows.iter().map(|_| None).collect();
    mark_resends(&tx, rows, &mut out).await?;

    // Every conversation moves by its rows' count; the new last_seq names the last row.
    let mut per_conv: Vec<(Uuid, i64, DateTime<Utc>)> = Vec::new();
    for (p, _) in rows.iter().zip(&out).filter(|(_, o)| o.is_none()) {
        let m = &p.row.message;
        match per_conv
            .iter_mut()
            .find(|(c, _, _)| *c == m.conversation_id)
        {
            Some((_, n, at)) => {
                *n += 1;
                *at = std::cmp::max(*at, m.created_at);
            }
            None => per_conv.push((m.conversation_id, 1, m.created_at)),
        }
    }
    let mut next_seq: HashMap<Uuid, i64> = HashMap::new();
    if !per_conv.is_empty() {
        let (mut seq, mut at) = (CaseStatement::new(), CaseStatement::new());
        for (c, n, when) in &per_conv {
            seq = seq.case(
                conversations::Column::Id.eq(*c),
                Expr::col(conversations::Column::LastSeq).add(*n),
            );
            at = at.case(conversations::Column::Id.eq(*c), Expr::value(*when));
        }
        let bumped = conversations::Entity::update_many()
            .col_expr(
                conversations::Column::LastSeq,
                seq.finally(Expr::col(conversations::Column::LastSeq))
                    .into(),
            )
            .col_expr(
                conversations::Column::LastMessageAt,
                at.clone()
                    .finally(Expr::col(conversations::Column::LastMessageAt))
                    .into(),
            )
            .col_expr(
                conversations::Column::UpdatedAt,
                at.finally(Expr::col(conversations::Column::UpdatedAt))
                    .into(),
            )
            .filter(conversations::Column::Id.is_in(per_conv.iter().map(|(c, _, _)| *c)))
            .exec_with_returning(&tx)
            .await?;
        for c in bumped {
            let n = per_conv
                .iter()
                .find(|(id, _, _)| *id == c.id)
                .map_or(0, |e| e.1);
            next_seq.insert(c.id, c.last_seq - n + 1);
        }
    }

    let mut inserted = Vec::new();
    let mut read_to: Vec<(Uuid, i64)> = Vec::new();
    for (i, p) in rows.iter().enumerate() {
        if out[i].is_some() {
            continue;
        }
        let Some(next) = next_seq.get_mut(&p.row.message.conversation_id) else {
            out[i] = Some(Stored::NoConversation);
            continue;
        };
        let message = messages::Model {
            seq: *next,
            ..p.row.message.clone()
        };
        *next += 1;
        match read_to
            .iter_mut()
            .find(|(part, _)| *part == p.row.sender_part_id)
        {
            Some((_, seq)) => *seq = std::cmp::max(*seq, message.seq),
            None => read_to.push((p.row.sender_part_id, message.seq)),
        }
        inserted.push((i, message));
    }
    if !inserted.is_empty() {
        store_rows(&tx, &inserted, &read_to).await?;
    }
    for (i, message) in inserted {
        let row = &rows[i].row;
        link_files(&tx, message.id, message.conversation_id, &row.files, 0).await?;
        let written = match &row.notes {
            Some(notes) => Some(notes.write(&tx).await?),
            None => None,
        };
        out[i] = Some(Stored::Inserted(Box::new(message), written));
    }
    tx.commit().await?;
    Ok(out
        .into_iter()
        .map(|o| o.expect("every row answered"))
        .collect())
}

/// The batch's messages in one insert, and each sender's read marker moved to their last
/// one in one update.
async fn store_rows(
    tx: &sea_orm::DatabaseTransaction,
    inserted: &[(usize, messages::Model)],
    read_to: &[(Uuid, i64)],
) -> AppResult<()> {
    let stored = messages::Entity::insert_many(
        inserted
            .iter()
            .map(|(_, m)| m.clone().into_active_model().reset_all()),
    )
    .on_conflict(OnConflict::new().do_nothing().to_owned())
    .exec_without_returning(tx)
    .await?;
    if stored != inserted.len() as u64 {
        // A client_msg_id committed by another node since the read above: the row-by-row
        // path answers that row with the stored message.
        return Err(AppError::Conflict(
            "a client_msg_id of this batch was stored meanwhile".into(),
        ));
    }
    // The senders have read their own messages.
    let mut read = CaseStatement::new();
    for (part, seq) in read_to {
        read = read.case(cp::Column::Id.eq(*part), Expr::value(*seq));
    }
    cp::Entity::update_many()
        .col_expr(
            cp::Column::LastReadSeq,
            read.clone()
                .finally(Expr::col(cp::Column::LastReadSeq))
                .into(),
        )
        .col_expr(
            cp::Column::LastDeliveredSeq,
            read.finally(Expr::col(cp::Column::LastDeliveredSeq)).into(),
        )
        .filter(cp::Column::Id.is_in(read_to.iter().map(|(part, _)| *part)))
        .exec(tx)
        .await?;
    Ok(())
}

/// Marks as resends the rows whose sender already stored their `client_msg_id`, or
/// repeats one earlier in this batch.
async fn mark_resends(
    tx: &sea_orm::DatabaseTransaction,
    rows: &[Pending],
    out: &mut [Option<Stored>],
) -> AppResult<()> {
    let ids: Vec<&str> = rows
        .iter()
        .filter_map(|p| p.row.message.client_msg_id.as_deref())
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let found: Vec<(Uuid, Option<String>)> = messages::Entity::find()
        .select_only()
        .column(messages::Column::SenderId)
        .column(messages::Column::ClientMsgId)
        .filter(messages::Column::ClientMsgId.is_in(ids))
        .into_tuple()
        .all(tx)
        .await?;
    let mut taken: HashSet<(Uuid, String)> = found
        .into_iter()
        .filter_map(|(sender, cid)| cid.map(|c| (sender, c)))
        .collect();
    for (p, o) in rows.iter().zip(out.iter_mut()) {
        if let Some(cid) = &p.row.message.client_msg_id
            && !taken.insert((p.row.message.sender_id, cid.clone()))
        {
            *o = Some(Stored::Duplicate);
        }
    }
    Ok(())
}
