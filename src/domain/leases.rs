//! Claiming due rows under a lease, for the tables every node works through (the push
//! outbox, the scheduler's jobs): one `UPDATE … WHERE id IN (SELECT … LIMIT n)
//! RETURNING *` that marks rows that are `ready` and due (or `busy` under a lease
//! that ran out: their node died) `busy` until the new lease ends. On PostgreSQL the
//! select skips rows another node is claiming (`FOR UPDATE SKIP LOCKED`); on SQLite
//! the statement runs under the one write lock. Either way each row goes to one node.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, LockBehavior, LockType, Order, Query};
use sea_orm::{ColumnTrait, Condition, DbBackend, EntityTrait, QueryFilter, UpdateMany};

/// The columns a leased table has.
pub(crate) struct LeaseColumns<C> {
    pub id: C,
    pub status: C,
    /// When a `ready` row is due.
    pub due_at: C,
    pub lease_until: C,
}

/// The claiming update, for the caller to add columns to and run with
/// `exec_with_returning`.
pub(crate) fn claim_due<E>(
    backend: DbBackend,
    cols: LeaseColumns<E::Column>,
    (ready, busy): (&str, &str),
    limit: u64,
    (at, lease_until): (DateTime<Utc>, DateTime<Utc>),
) -> UpdateMany<E>
where
    E: EntityTrait + Default,
{
    let due = Condition::any()
        .add(
            Condition::all()
                .add(cols.status.eq(ready))
                .add(cols.due_at.lte(at)),
        )
        .add(
            Condition::all()
                .add(cols.status.eq(busy))
                .add(cols.lease_until.lt(at)),
        );
    let mut pick = Query::select();
    pick.column(cols.id)
        .from(E::default())
        .cond_where(due)
        .order_by(cols.due_at, Order::Asc)
        .limit(limit);
    if backend == DbBackend::Postgres {
        pick.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    E::update_many()
        .col_expr(cols.status, Expr::value(busy))
        .col_expr(cols.lease_until, Expr::value(lease_until))
        .filter(cols.id.in_subquery(pick))
}
