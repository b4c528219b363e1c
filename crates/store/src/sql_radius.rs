//! The SQL of RADIUS clients, shared by both backends: `sql_radius!(Store, Db)` implements
//! [`countersign_core::RadiusStore`], beside `sql_common!`, whose imports and helpers it uses.

/// Implement the RadiusStore trait for `$store` over `sqlx::Pool<$db>`.
macro_rules! sql_radius {
    ($store:ty, $db:ty) => {
        fn radius_client_from(r: &DbRow) -> Result<countersign_core::radius::RadiusClient, StoreError> {
            let policy: String = r.try_get("policy").map_err(db_err)?;
            Ok(countersign_core::radius::RadiusClient {
                id: r.try_get("id").map_err(db_err)?,
                tenant_id: r.try_get("tenant_id").map_err(db_err)?,
                name: r.try_get("name").map_err(db_err)?,
                network: r.try_get("network").map_err(db_err)?,
                secret_sealed: r.try_get("secret").map_err(db_err)?,
                policy: countersign_core::radius::RadiusPolicy::parse(&policy)
                    .ok_or_else(|| corrupt("radius_clients.policy"))?,
                second_factor: r.try_get("second_factor").map_err(db_err)?,
                created_at: Timestamp(r.try_get("created_at").map_err(db_err)?),
            })
        }

        #[async_trait]
        impl countersign_core::RadiusStore for $store {
            async fn insert_radius_client(
                &self,
                c: &countersign_core::radius::RadiusClient,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO radius_clients (id, tenant_id, name, network, secret, policy, second_factor, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&c.id)
                .bind(&c.tenant_id)
                .bind(&c.name)
                .bind(&c.network)
                .bind(&c.secret_sealed)
                .bind(c.policy.as_str())
                .bind(&c.second_factor)
                .bind(c.created_at.millis())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn radius_clients(
                &self,
                tenant_id: &str,
                page: &Page,
            ) -> Result<Vec<countersign_core::radius::RadiusClient>, StoreError> {
                page_by(
                    &self.pool,
                    "SELECT * FROM radius_clients WHERE tenant_id = $1 AND name > $2 ORDER BY name LIMIT $3",
                    tenant_id,
                    page,
                    radius_client_from,
                )
                .await
            }

            async fn all_radius_clients(&self) -> Result<Vec<countersign_core::radius::RadiusClient>, StoreError> {
                // No LIMIT: an address must be matched against every client (RadiusStore).
                sqlx::query("SELECT * FROM radius_clients ORDER BY id")
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?
                    .iter()
                    .map(radius_client_from)
                    .collect()
            }

            async fn delete_radius_client(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
                let done = sqlx::query("DELETE FROM radius_clients WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant_id)
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}

pub(crate) use sql_radius;
