//! Group commit for new messages. One writer task per process takes the queued rows
//! of every sender and stores them in one transaction per batch (per row: the
//! conversation's seq bump, the insert, its files, the sender's read marker, and what
//! the notifications the message makes, planned before: `MessageNotes`), then answers each
//! sender. Concurrent senders share a commit instead of queueing for one each, and
//! on SQLite our own message transactions never contend for the one write lock
//! (SQLite's busy handler waits by sleeping in 1–100 ms steps). The writer has its own
//! database connection, so a busy pool never holds a batch back.

use entity::{conversation_participants as cp, conversations, messages};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, ExprTrait, IntoActiveModel,
    QueryFilter,
};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use crate::domain::media::attachments::link_files;
use crate::domain::notify::{MessageNotes, NotesWritten};
use crate::error::{AppError, AppResult};

/// Rows per transaction at most; a batch is whatever is queued when the writer is free.
const MAX_BATCH: usize = 128;

/// A checked message ready to store; `message.seq` is assigned by the writer.
pub(crate) struct Row {
    pub message: messages::Model,
    /// The sender's participant row, whose read marker moves to the new seq.
    pub sender_part_id: Uuid,
    /// Uploaded files the message carries, in order.
    pub files: Vec<Uuid>,
    /// The notifications the message makes, stored in the same transaction right
    /// after it is inserted; not for a duplicate.
    pub notes: Option<MessageNotes>,
}

pub(crate) enum Stored {
    /// The message, and the notifications stored with it.
    Inserted(Box<messages::Model>, Option<NotesWritten>),
    /// The sender's `client_msg_id` was stored meanwhile (a concurrent resend).
    Duplicate,
    /// The conversation row is gone (removed since the sender's checks).
    NoConversation,
}

pub(super) struct Pending {
    pub row: Row,
    done: oneshot::Sender<AppResult<Stored>>,
}

/// Handle to the writer task; cheap to clone.
#[derive(Clone)]
pub struct MessageWriter {
    queue: mpsc::Sender<Pending>,
}

impl MessageWriter {
    /// Starts the writer task on `tasks` with `db`, a connection of its own. When `cancel` fires it takes no new rows
    /// (senders get an error), stores every row already queued, and ends.
    pub fn start(db: DatabaseConnection, tasks: &TaskTracker, cancel: CancellationToken) -> Self {
        let (queue, rx) = mpsc::channel(4 * MAX_BATCH);
        tasks.spawn(run(db, rx, cancel));
        Self { queue }
    }

    /// Stores `row` in the next batch and returns once that batch has committed.
    pub(crate) async fn store(&self, row: Row) -> AppResult<Stored> {
        let (done, rx) = oneshot::channel();
        self.queue
            .send(Pending { row, done })
            .await
            .map_err(|_| AppError::internal("message writer stopped"))?;
        rx.await
            .map_err(|_| AppError::internal("message writer dropped a row"))?
    }
}

async fn run(db: DatabaseConnection, mut rx: mpsc::Receiver<Pending>, cancel: CancellationToken) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        let got = tokio::select! {
            biased;
            n = rx.recv_many(&mut batch, MAX_BATCH) => n,
            _ = cancel.cancelled() => {
                // Drain: refuse new rows, then store everything already queued
                // (recv_many returns 0 once the closed queue is empty).
                rx.close();
                rx.recv_many(&mut batch, MAX_BATCH).await
            }
        };
        if got == 0 {
            break;
        }
        metrics::histogram!(crate::telemetry::metrics::WRITER_BATCH).record(batch.len() as f64);
        let started = std::time::Instant::now();
        let written = super::message_batch::write(&db, &batch).await;
        metrics::histogram!(crate::telemetry::metrics::WRITER_COMMIT)
            .record(started.elapsed().as_secs_f64());
        match written {
            Ok(stored) => {
                for (p, s) in batch.drain(..).zip(stored) {
                    let _ = p.done.send(Ok(s));
                }
            }
            Err(e) => {
                // One bad row must not fail its neighbours, and a row stored meanwhile by
                // another node is a resend: store each on its own, each case answered.
                tracing::debug!(error = %e, rows = batch.len(), "batch failed; retrying rows one by one");
                for p in batch.drain(..) {
                    let mut one = vec![p];
                    let result = write(&db, &one).await.map(|mut s| s.remove(0));
                    let _ = one.remove(0).done.send(result);
                }
            }
        }
    }
    tracing::debug!("message writer stopped");
}

/// One transaction for `rows` (one row, after its batch failed), in order. Seqs stay gapless: each row bumps its
/// conversation's `last_seq` under the row lock, and a row whose `client_msg_id`
/// turns out to be taken gives its seq back before the next row runs.
async fn write(db: &DatabaseConnection, rows: &[Pending]) -> AppResult<Vec<Stored>> {
    let tx = crate::domain::begin_write(db).await?;
    let mut out = Vec::with_capacity(rows.len());
    for pending in rows.iter() {
        let row = &pending.row;
        let m = &row.message;
        let bumped = conversations::Entity::update_many()
            .col_expr(
                conversations::Column::LastSeq,
                Expr::col(conversations::Column::LastSeq).add(1),
            )
            .col_expr(
                conversations::Column::LastMessageAt,
                Expr::value(m.created_at),
            )
            .col_expr(conversations::Column::UpdatedAt, Expr::value(m.created_at))
            .filter(conversations::Column::Id.eq(m.conversation_id))
            .exec_with_returning(&tx)
            .await?;
        let Some(seq) = bumped.first().map(|c| c.last_seq) else {
            out.push(Stored::NoConversation);
            continue;
        };
        let message = messages::Model { seq, ..m.clone() };
        let inserted = messages::Entity::insert(message.clone().into_active_model().reset_all())
            .on_conflict(OnConflict::new().do_nothing().to_owned())
            .exec_without_returning(&tx)
            .await?;
        if inserted == 0 {
            conversations::Entity::update_many()
                .col_expr(
                    conversations::Column::LastSeq,
                    Expr::col(conversations::Column::LastSeq).sub(1),
                )
                .filter(conversations::Column::Id.eq(m.conversation_id))
                .exec(&tx)
                .await?;
            out.push(Stored::Duplicate);
            continue;
        }
        link_files(&tx, message.id, message.conversation_id, &row.files, 0).await?;
        // The sender has read their own message.
        cp::Entity::update_many()
            .col_expr(cp::Column::LastReadSeq, Expr::value(seq))
            .col_expr(cp::Column::LastDeliveredSeq, Expr::value(seq))
            .filter(cp::Column::Id.eq(row.sender_part_id))
            .exec(&tx)
            .await?;
        let written = match &row.notes {
            Some(notes) => Some(notes.write(&tx).await?),
            None => None,
        };
        out.push(Stored::Inserted(Box::new(message), written));
    }
    tx.commit().await?;
    Ok(out)
}
