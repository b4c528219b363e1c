//! The SQL of request-limit counters, shared by both backends: `sql_limit!(Store, Db)`
//! implements [`countersign_core::LimitStore`], beside `sql_common!`, whose imports and
//! helpers it uses.
//!
//! A request is counted by one `INSERT … ON CONFLICT (bucket, window_start) DO UPDATE SET
//! count = count + 1 RETURNING count`: PostgreSQL makes concurrent upserts of one row wait
//! for each other and each sees the count the one before left; SQLite runs one writer at
//! a time. Either way every request gets a count of its own.

/// Implement the LimitStore trait for `$store` over `sqlx::Pool<$db>`.
macro_rules! sql_limit {
    ($store:ty, $db:ty) => {
        #[async_trait]
        impl countersign_core::LimitStore for $store {
            async fn count_hit(
                &self,
                bucket: &str,
                window_start: Timestamp,
                window_ends: Timestamp,
            ) -> Result<countersign_core::Hit, StoreError> {
                let row = sqlx::query(
                    "INSERT INTO rate_limits (bucket, window_start, window_end, count) VALUES ($1, $2, $3, 1) \
                     ON CONFLICT (bucket, window_start) DO UPDATE SET count = rate_limits.count + 1 \
                     RETURNING count AS n, window_end",
                )
                .bind(bucket)
                .bind(window_start.millis())
                .bind(window_ends.millis())
                .fetch_one(&self.pool)
                .await
                .map_err(db_err)?;
                let ends: i64 = row.try_get("window_end").map_err(db_err)?;
                Ok(countersign_core::Hit { count: int(&row, "n")?, window_ends: Timestamp(ends) })
            }

            async fn purge_limits_before(&self, now: Timestamp, limit: u32) -> Result<u64, StoreError> {
                // `purge` binds `now` as $1: counters of windows ended at or before it.
                purge(
                    &self.pool,
                    "DELETE FROM rate_limits WHERE (bucket, window_start) IN (SELECT bucket, window_start \
                     FROM rate_limits WHERE window_end <= $1 ORDER BY window_end LIMIT $2)",
                    now,
                    limit,
                )
                .await
            }
        }
    };
}

pub(crate) use sql_limit;
