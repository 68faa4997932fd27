//! The outbox's rows in the worker's hands: claiming due rows under a lease (one
//! node per row), settling each with its [`Outcome`] (sent, ticketed, retried with
//! backoff and jitter, failed, gone: the target revoked), and Expo receipts that
//! have not arrived yet.

use std::time::Duration;

use entity::push_outbox as outbox;
use rand::Rng;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, Set};

use super::Notifications;
use super::outbox::{OutboxSettings, Outcome, PushChannel, status};
use crate::domain::leases::{LeaseColumns, claim_due};
use crate::domain::now;
use crate::error::AppResult;

impl Notifications {
    /// Claims up to `limit` rows that are `ready` and due (or whose holder's lease ran
    /// out while `busy`), marking them `busy` under this node's lease
    /// ([`crate::domain::leases`]); a claim to send counts an attempt.
    pub(super) async fn claim_outbox(
        &self,
        ready: &str,
        busy: &str,
        limit: u64,
    ) -> AppResult<Vec<outbox::Model>> {
        let at = now();
        let cols = LeaseColumns {
            id: outbox::Column::Id,
            status: outbox::Column::Status,
            due_at: outbox::Column::NextAttemptAt,
            lease_until: outbox::Column::LeaseUntil,
        };
        let lease = at + chrono_of(self.push.settings.lease);
        let mut claim = claim_due::<outbox::Entity>(
            self.db.get_database_backend(),
            cols,
            (ready, busy),
            limit,
            (at, lease),
        );
        if busy == status::SENDING {
            claim = claim.col_expr(
                outbox::Column::Attempts,
                sea_orm::sea_query::ExprTrait::add(Expr::col(outbox::Column::Attempts), 1),
            );
        }
        let mut rows = claim.exec_with_returning(&self.db).await?;
        rows.sort_by_key(|r| r.next_attempt_at);
        Ok(rows)
    }

    /// How many outbox rows are not settled yet (due, being sent, awaiting a receipt)
    /// and since when the
    /// oldest has: the outbox metrics, read after each worker round.
    pub async fn outbox_backlog(&self) -> AppResult<(u64, Option<chrono::DateTime<chrono::Utc>>)> {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
        let (count, oldest): (i64, Option<chrono::DateTime<chrono::Utc>>) = outbox::Entity::find()
            .select_only()
            .column_as(outbox::Column::Id.count(), "count")
            .column_as(outbox::Column::CreatedAt.min(), "oldest")
            .filter(outbox::Column::Status.is_not_in([status::SENT, status::FAILED, status::GONE]))
            .into_tuple()
            .one(&self.db)
            .await?
            .unwrap_or((0, None));
        Ok((count.max(0) as u64, oldest))
    }

    /// Records how a claimed row's send (or receipt check) ended.
    pub(super) async fn settle_outbox(
        &self,
        row: &outbox::Model,
        outcome: Outcome,
    ) -> AppResult<()> {
        let at = now();
        let settings = &self.push.settings;
        let mut am = outbox::ActiveModel {
            id: Set(row.id),
            lease_until: Set(None),
            ..Default::default()
        };
        let outcome_label = match &outcome {
            Outcome::Delivered => "sent",
            Outcome::Ticketed(_) => "ticketed",
            Outcome::Gone(_) => "gone",
            Outcome::Failed(_) => "failed",
            Outcome::Retry { .. } => "retry",
        };
        metrics::counter!(crate::telemetry::metrics::PUSH_RESULTS,
            "provider" => row.channel.clone(), "outcome" => outcome_label)
        .increment(1);
        match outcome {
            Outcome::Delivered => {
                am.status = Set(status::SENT.into());
                am.sent_at = Set(Some(row.sent_at.unwrap_or(at)));
                am.last_error = Set(None);
            }
            Outcome::Ticketed(ticket) => {
                am.status = Set(status::TICKETED.into());
                am.ticket_id = Set(Some(ticket));
                am.sent_at = Set(Some(at));
                am.next_attempt_at = Set(at + chrono_of(settings.receipt_delay));
            }
            Outcome::Gone(error) => {
                am.status = Set(status::GONE.into());
                am.last_error = Set(Some(error));
                self.revoke_push_target(row).await?;
            }
            Outcome::Failed(error) => {
                am.status = Set(status::FAILED.into());
                am.last_error = Set(Some(error));
            }
            Outcome::Retry { after, error } => {
                if row.attempts >= settings.max_attempts {
                    am.status = Set(status::FAILED.into());
                    am.last_error = Set(Some(format!(
                        "gave up after {} attempts: {error}",
                        row.attempts
                    )));
                } else {
                    am.status = Set(status::PENDING.into());
                    am.last_error = Set(Some(error));
                    am.next_attempt_at =
                        Set(at + chrono_of(retry_delay(settings, row.attempts, after)));
                }
            }
        }
        am.update(&self.db).await?;
        Ok(())
    }

    /// A receipt that has not arrived yet: look again after another delay; after a
    /// day Expo keeps none, so the row stays `sent` with a note.
    pub(super) async fn receipt_pending(&self, row: &outbox::Model) -> AppResult<()> {
        let at = now();
        let mut am = outbox::ActiveModel {
            id: Set(row.id),
            lease_until: Set(None),
            ..Default::default()
        };
        if at - row.created_at > chrono::Duration::hours(24) {
            am.status = Set(status::SENT.into());
            am.last_error = Set(Some("no receipt from Expo within a day".into()));
        } else {
            am.status = Set(status::TICKETED.into());
            am.next_attempt_at = Set(at + chrono_of(self.push.settings.receipt_delay));
        }
        am.update(&self.db).await?;
        Ok(())
    }

    /// The browser or phone a row was for no longer exists: revoke it, so nothing
    /// more is queued for it.
    async fn revoke_push_target(&self, row: &outbox::Model) -> AppResult<()> {
        match PushChannel::parse(&row.channel) {
            Some(PushChannel::WebPush) => self.revoke_subscription(row.target_id).await,
            Some(PushChannel::Expo) => self.revoke_token_by_id(row.target_id).await,
            Some(PushChannel::Email) | None => Ok(()),
        }
    }
}

fn chrono_of(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// Exponential backoff with jitter: base · 2^(attempt-1), capped, then a random
/// point in its upper half; never sooner than the service's `Retry-After`.
fn retry_delay(settings: &OutboxSettings, attempts: i32, after: Option<Duration>) -> Duration {
    let exp = settings
        .retry_base
        .saturating_mul(1u32 << attempts.clamp(1, 20).saturating_sub(1))
        .min(settings.retry_max);
    let jittered = exp.mul_f64(rand::thread_rng().gen_range(0.5..=1.0));
    match after {
        Some(after) => jittered.max(after.min(settings.retry_max)),
        None => jittered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_is_capped_and_honours_retry_after() {
        let s = OutboxSettings {
            retry_base: Duration::from_secs(2),
            retry_max: Duration::from_secs(60),
            ..Default::default()
        };
        for _ in 0..50 {
            let first = retry_delay(&s, 1, None);
            assert!(first >= Duration::from_secs(1) && first <= Duration::from_secs(2));
            let fourth = retry_delay(&s, 4, None);
            assert!(fourth >= Duration::from_secs(8) && fourth <= Duration::from_secs(16));
            let late = retry_delay(&s, 30, None);
            assert!(late <= Duration::from_secs(60));
            let told = retry_delay(&s, 1, Some(Duration::from_secs(30)));
            assert!(told >= Duration::from_secs(30));
        }
    }
}
