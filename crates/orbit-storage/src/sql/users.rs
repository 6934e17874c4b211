//! `UserStore`: the users of an instance.

use super::{backend, get, get_enum, select, FromRow, IntoRow, Query, Row, SqlStore, R};
use async_trait::async_trait;
use orbit_core::clock::Millis;
use orbit_core::model::*;
use orbit_core::store::*;

impl FromRow for User {
    fn from_row(row: &Row) -> R<Self> {
        Ok(User {
            id: get(row, "id")?,
            instance_id: get(row, "instance_id")?,
            email_id: get(row, "email_id")?,
            email: get(row, "email")?,
            first_name: get(row, "first_name")?,
            last_name: get(row, "last_name")?,
            password_hash: get(row, "password_hash")?,
            created_at: get(row, "created_at")?,
            updated_at: get(row, "updated_at")?,
            last_sign_in_at: get(row, "last_sign_in_at")?,
            last_active_at: get(row, "last_active_at")?,
            email_verification: get_enum(
                row,
                "email_verification",
                "email verification",
                EmailVerification::parse,
            )?,
            email_verified_at: get(row, "email_verified_at")?,
            banned: get(row, "banned")?,
        })
    }
}

impl IntoRow for User {
    const TABLE: &'static str = "users";
    const COLUMNS: &'static str =
        "id, instance_id, email_id, email, first_name, last_name, password_hash, created_at, \
         updated_at, last_sign_in_at, last_active_at, email_verification, email_verified_at, \
         banned";
    fn bind<'q>(&'q self, query: Query<'q>) -> Query<'q> {
        query
            .bind(&self.id)
            .bind(&self.instance_id)
            .bind(&self.email_id)
            .bind(&self.email)
            .bind(&self.first_name)
            .bind(&self.last_name)
            .bind(&self.password_hash)
            .bind(self.created_at)
            .bind(self.updated_at)
            .bind(self.last_sign_in_at)
            .bind(self.last_active_at)
            .bind(self.email_verification.as_str())
            .bind(self.email_verified_at)
            .bind(self.banned)
    }
}

/// The email filter of `list_users` and `count_users`: `$2`, a `LIKE` pattern or NULL (every
/// user). Addresses are stored lower-case, and the search comes lower-cased, so the dialects'
/// different case rules for `LIKE` never come into play.
const EMAIL_CONTAINS: &str = "($2 IS NULL OR email LIKE $2 ESCAPE '\\')";

/// `needle` as a `LIKE` pattern matching any text that contains it, literally.
fn like_pattern(needle: &str) -> String {
    let mut p = String::with_capacity(needle.len() + 2);
    p.push('%');
    for c in needle.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

#[async_trait]
impl UserStore for SqlStore {
    async fn create_user(&self, u: &User) -> R<()> {
        self.insert(u).await
    }

    async fn user(&self, instance_id: &str, id: &str) -> R<Option<User>> {
        let sql = select::<User>("WHERE instance_id = $1 AND id = $2");
        let q = sqlx::query(&sql).bind(instance_id).bind(id);
        self.fetch_optional(q).await
    }

    async fn user_by_email(&self, instance_id: &str, email: &str) -> R<Option<User>> {
        let sql = select::<User>("WHERE instance_id = $1 AND email = $2");
        let q = sqlx::query(&sql).bind(instance_id).bind(email);
        self.fetch_optional(q).await
    }

    async fn list_users(
        &self,
        instance_id: &str,
        email_contains: Option<&str>,
        limit: u32,
        offset: u32,
    ) -> R<Vec<User>> {
        let sql = select::<User>(&format!(
            "WHERE instance_id = $1 AND {EMAIL_CONTAINS} \
             ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
        ));
        let q = sqlx::query(&sql)
            .bind(instance_id)
            .bind(email_contains.map(like_pattern))
            .bind(i64::from(limit))
            .bind(i64::from(offset));
        self.fetch_all(q).await
    }

    async fn count_users(&self, instance_id: &str, email_contains: Option<&str>) -> R<u64> {
        let sql = format!("SELECT COUNT(*) FROM users WHERE instance_id = $1 AND {EMAIL_CONTAINS}");
        let n: i64 = sqlx::query_scalar(&sql)
            .bind(instance_id)
            .bind(email_contains.map(like_pattern))
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn set_user_banned(
        &self,
        instance_id: &str,
        id: &str,
        banned: bool,
        at: Millis,
    ) -> R<bool> {
        let q = sqlx::query(
            "UPDATE users SET banned = $1, updated_at = $2 WHERE instance_id = $3 AND id = $4",
        )
        .bind(banned)
        .bind(at)
        .bind(instance_id)
        .bind(id);
        Ok(self.execute(q).await? > 0)
    }

    async fn set_user_names(
        &self,
        instance_id: &str,
        id: &str,
        first_name: Option<&str>,
        last_name: Option<&str>,
        at: Millis,
    ) -> R<bool> {
        let q = sqlx::query(
            "UPDATE users SET first_name = $1, last_name = $2, updated_at = $3 WHERE instance_id = $4 AND id = $5",
        )
        .bind(first_name)
        .bind(last_name)
        .bind(at)
        .bind(instance_id)
        .bind(id);
        Ok(self.execute(q).await? > 0)
    }

    async fn swap_password_hash(
        &self,
        instance_id: &str,
        id: &str,
        expected: Option<&str>,
        new: &str,
        at: Millis,
    ) -> R<bool> {
        // `IS NOT DISTINCT FROM` compares NULL (no password yet) as a value.
        let q = sqlx::query(
            "UPDATE users SET password_hash = $1, updated_at = $2 WHERE instance_id = $3 AND id = $4 \
             AND password_hash IS NOT DISTINCT FROM $5",
        )
        .bind(new)
        .bind(at)
        .bind(instance_id)
        .bind(id)
        .bind(expected);
        Ok(self.execute(q).await? > 0)
    }

    async fn record_sign_in(&self, instance_id: &str, id: &str, at: Millis) -> R<()> {
        let q = sqlx::query(
            "UPDATE users SET last_sign_in_at = $1, updated_at = $1 WHERE instance_id = $2 AND id = $3",
        )
        .bind(at)
        .bind(instance_id)
        .bind(id);
        self.execute(q).await?;
        Ok(())
    }

    async fn delete_user(&self, instance_id: &str, id: &str) -> R<bool> {
        // Sessions go with the user (ON DELETE CASCADE).
        let q = sqlx::query("DELETE FROM users WHERE instance_id = $1 AND id = $2")
            .bind(instance_id)
            .bind(id);
        Ok(self.execute(q).await? > 0)
    }
}
