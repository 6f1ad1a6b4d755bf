//! The household's names and rooms for devices, its favourite devices, and the unit each
//! recorded series is in.

use super::{Result, Store};

/// A device's naming as stored: `room_chosen` with `room` NULL means "no room".
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct NamingRow {
    pub id: String,
    pub name: Option<String>,
    pub room_chosen: bool,
    pub room: Option<String>,
}

/// The settings key holding the favourites, a JSON array of device ids.
const FAVOURITES: &str = "favourites";

impl Store {
    /// Every device's naming.
    pub async fn namings(&self) -> Result<Vec<NamingRow>> {
        Ok(
            sqlx::query_as("SELECT id, name, room_chosen, room FROM device_namings")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Writes a device's naming; one that chooses nothing is deleted.
    pub async fn save_naming(&self, row: &NamingRow) -> Result<()> {
        if row.name.is_none() && !row.room_chosen {
            sqlx::query("DELETE FROM device_namings WHERE id = ?")
                .bind(&row.id)
                .execute(&self.pool)
                .await?;
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO device_namings (id, name, room_chosen, room) VALUES (?, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
             room_chosen = excluded.room_chosen, room = excluded.room",
        )
        .bind(&row.id)
        .bind(&row.name)
        .bind(row.room_chosen)
        .bind(&row.room)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The household's favourite devices, in the order they were starred.
    pub async fn favourites(&self) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT j.value FROM settings s, json_each(s.value) j WHERE s.key = ?1 ORDER BY j.key",
        )
        .bind(FAVOURITES)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Stars or unstars a device. One statement each, so a phone and the PC starring at the
    /// same moment both count (a read, then a write of the whole list, would lose one).
    /// Starring is refused past `max` favourites: returns whether the list has the device now.
    pub async fn set_favourite(&self, id: &str, on: bool, max: usize) -> Result<bool> {
        let sql = if on {
            "INSERT INTO settings (key, value) VALUES (?1, json_array(?2)) \
             ON CONFLICT (key) DO UPDATE SET value = json_insert(settings.value, '$[#]', ?2) \
             WHERE NOT EXISTS (SELECT 1 FROM json_each(settings.value) j WHERE j.value = ?2) \
             AND json_array_length(settings.value) < ?3"
        } else {
            "UPDATE settings SET value = (SELECT json_group_array(j.value) \
             FROM (SELECT e.value FROM json_each(settings.value) e WHERE e.value <> ?2 ORDER BY e.key) j) \
             WHERE key = ?1"
        };
        sqlx::query(sql)
            .bind(FAVOURITES)
            .bind(id)
            .bind(max as i64)
            .execute(&self.pool)
            .await?;
        Ok(self.favourites().await?.iter().any(|f| f == id))
    }

    /// Records the unit a series is in.
    pub async fn save_unit(&self, topic: &str, field: &str, unit: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO series_units (topic, field, unit) VALUES (?, ?, ?) \
             ON CONFLICT (topic, field) DO UPDATE SET unit = excluded.unit",
        )
        .bind(topic)
        .bind(field)
        .bind(unit)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The unit a series is in, if one was recorded.
    pub async fn unit(&self, topic: &str, field: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT unit FROM series_units WHERE topic = ? AND field = ?")
                .bind(topic)
                .bind(field)
                .fetch_optional(&self.pool)
                .await?,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn namings_and_units_round_trip() {
        let s = Store::open_in_memory().await.unwrap();
        let row = NamingRow {
            id: "z2m/lamp".into(),
            name: Some("Desk lamp".into()),
            room_chosen: true,
            room: None,
        };
        s.save_naming(&row).await.unwrap();
        assert_eq!(s.namings().await.unwrap(), vec![row.clone()]);
        s.save_naming(&NamingRow {
            name: None,
            room_chosen: false,
            ..row
        })
        .await
        .unwrap();
        assert!(s.namings().await.unwrap().is_empty());
        s.save_unit("t", "", "°F").await.unwrap();
        s.save_unit("t", "", "°C").await.unwrap();
        assert_eq!(s.unit("t", "").await.unwrap().as_deref(), Some("°C"));
        assert_eq!(s.unit("t", "x").await.unwrap(), None);
    }

    #[tokio::test]
    async fn favourites_keep_their_order_once_each_and_a_bound() {
        let s = Store::open_in_memory().await.unwrap();
        assert!(s.favourites().await.unwrap().is_empty());
        assert!(s.set_favourite("b/x", true, 3).await.unwrap());
        assert!(s.set_favourite("a/y", true, 3).await.unwrap());
        assert!(s.set_favourite("b/x", true, 3).await.unwrap());
        assert!(s.set_favourite("c/\"quoted\"", true, 3).await.unwrap());
        assert_eq!(
            s.favourites().await.unwrap(),
            ["b/x", "a/y", "c/\"quoted\""]
        );
        assert!(!s.set_favourite("d/z", true, 3).await.unwrap(), "bounded");
        assert!(!s.set_favourite("b/x", false, 3).await.unwrap());
        assert!(!s.set_favourite("never", false, 3).await.unwrap());
        assert_eq!(s.favourites().await.unwrap(), ["a/y", "c/\"quoted\""]);
    }
}
