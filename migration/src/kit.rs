//! Small builders shared by the migrations: tables with a UUID key, foreign keys,
//! indexes, and creating/dropping a list of them in order.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::pk_uuid;

/// `CREATE TABLE name (id uuid primary key, …)`.
pub fn table(name: &'static str) -> TableCreateStatement {
    Table::create().table(name).col(pk_uuid("id")).to_owned()
}

/// A foreign key `table.col → parent.id`, deleting children with the parent.
pub fn fk(
    table: &'static str,
    col: &'static str,
    parent: &'static str,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{col}"))
        .from(table, col)
        .to(parent, "id")
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

/// An index on `cols`, unique when asked.
pub fn index(table: &'static str, cols: &[&'static str], unique: bool) -> IndexCreateStatement {
    let mut idx = Index::create();
    idx.name(format!(
        "{}_{}_{}",
        if unique { "ux" } else { "ix" },
        table,
        cols.join("_")
    ))
    .table(table);
    for c in cols {
        idx.col(*c);
    }
    if unique {
        idx.unique();
    }
    idx.to_owned()
}

/// Creates the tables in order, then the indexes.
pub async fn create(
    manager: &SchemaManager<'_>,
    tables: Vec<TableCreateStatement>,
    indexes: Vec<IndexCreateStatement>,
) -> Result<(), DbErr> {
    for t in tables {
        manager.create_table(t).await?;
    }
    for i in indexes {
        manager.create_index(i).await?;
    }
    Ok(())
}

/// Drops the tables in reverse order of creation.
pub async fn drop(manager: &SchemaManager<'_>, names: &[&'static str]) -> Result<(), DbErr> {
    for name in names.iter().rev() {
        manager
            .drop_table(Table::drop().table(*name).to_owned())
            .await?;
    }
    Ok(())
}
