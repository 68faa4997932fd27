//! How a tenant's host platform signs its users' tokens, so `messaging/token` can
//! exchange one for a Switchboard session: the issuer (unique: it picks the tenant),
//! the audience, and one of an HS256 secret, a public key (RS256/ES256) or a JWKS URL.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::kit::{create, drop, fk, index, table};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261124_000010_host_auth"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create(
            manager,
            vec![
                table("host_auth")
                    .col(uuid("tenant_id"))
                    .col(string_len("issuer", 512))
                    .col(string_len_null("audience", 512))
                    .col(text_null("hs256_secret"))
                    .col(text_null("public_key_pem"))
                    .col(string_len_null("jwks_url", 2048))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk("host_auth", "tenant_id", "tenants"))
                    .to_owned(),
            ],
            vec![
                index("host_auth", &["tenant_id"], true),
                index("host_auth", &["issuer"], true),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop(manager, &["host_auth"]).await
    }
}
