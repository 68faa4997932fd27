//! Tenants, users, refresh tokens and API keys.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::kit::{create, drop, fk, index, table};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261122_000001_accounts"
    }
}

const TABLES: &[&str] = &["tenants", "users", "refresh_tokens", "api_keys"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let tables = vec![
            table("tenants")
                .col(string_len("name", 200))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
            table("users")
                .col(uuid("tenant_id"))
                .col(string_len_null("external_id", 128))
                .col(string_len_uniq("email", 254))
                .col(string_len_null("phone", 32))
                .col(string_len("display_name", 100))
                .col(string_len_null("avatar_url", 2048))
                .col(string_len("timezone", 64))
                .col(string_len("role", 24))
                .col(boolean("is_active"))
                .col(string_null("password_hash"))
                .col(timestamp_with_time_zone_null("last_seen_at"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("users", "tenant_id", "tenants"))
                .to_owned(),
            table("refresh_tokens")
                .col(uuid("user_id"))
                .col(uuid("family_id"))
                .col(string_len_uniq("token_hash", 64))
                .col(timestamp_with_time_zone("expires_at"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("revoked_at"))
                .col(uuid_null("replaced_by"))
                .foreign_key(&mut fk("refresh_tokens", "user_id", "users"))
                .to_owned(),
            table("api_keys")
                .col(uuid("tenant_id"))
                .col(string_len("name", 100))
                .col(string_len("key_prefix", 16))
                .col(string_len_uniq("key_hash", 64))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("revoked_at"))
                .foreign_key(&mut fk("api_keys", "tenant_id", "tenants"))
                .to_owned(),
        ];
        let indexes = vec![
            index("users", &["tenant_id"], false),
            index("users", &["tenant_id", "external_id"], true),
            index("refresh_tokens", &["family_id"], false),
            index("refresh_tokens", &["user_id"], false),
            index("api_keys", &["tenant_id"], false),
        ];
        create(manager, tables, indexes).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop(manager, TABLES).await
    }
}
