//! What the Rust peers' TechEmpower servers share: the statements, the query-count rule,
//! random ids, the rows, the fortunes template, and a tokio-postgres connection with its
//! statements prepared (as actix's and axum's entries in TechEmpower's repository hold one
//! per worker thread).

use std::borrow::Cow;

use askama::Template;
use futures_util::future::try_join_all;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use tokio_postgres::{Client, NoTls, Statement};

pub const WORLD_ROWS: i32 = 10_000;
pub const SELECT_WORLD: &str = "SELECT id, randomnumber FROM world WHERE id = $1";
pub const SELECT_FORTUNES: &str = "SELECT id, message FROM fortune";
pub const SELECT_ALL_WORLDS: &str = "SELECT id, randomnumber FROM world ORDER BY id";
/// One bulk UPDATE per request (axum's entry): ids and numbers as two arrays.
pub const UPDATE_WORLDS: &str = "UPDATE world SET randomnumber = v.rn FROM \
    (SELECT * FROM UNNEST($1::int[], $2::int[]) AS v(id, rn) ORDER BY 1) AS v \
    WHERE world.id = v.id";

#[derive(Serialize, Clone, Copy)]
pub struct World {
    pub id: i32,
    #[serde(rename = "randomNumber")]
    pub random_number: i32,
}

#[derive(Serialize)]
pub struct Message {
    pub message: &'static str,
}

pub struct Fortune {
    pub id: i32,
    pub message: Cow<'static, str>,
}

#[derive(Template)]
#[template(
    ext = "html",
    source = "<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table>\
<tr><th>id</th><th>message</th></tr>{% for f in fortunes %}\
<tr><td>{{ f.id }}</td><td>{{ f.message }}</td></tr>{% endfor %}</table></body></html>"
)]
pub struct FortunesPage<'a> {
    pub fortunes: &'a [Fortune],
}

/// The fortunes page from the table's rows: the row added at request time, all sorted by
/// message, rendered by the template (which HTML-escapes each message).
pub fn render_fortunes(mut fortunes: Vec<Fortune>) -> Result<String, askama::Error> {
    fortunes.push(Fortune {
        id: 0,
        message: Cow::Borrowed("Additional fortune added at request time."),
    });
    fortunes.sort_by(|a, b| a.message.cmp(&b.message));
    FortunesPage {
        fortunes: &fortunes,
    }
    .render()
}

/// The `queries`/`count` value clamped to 1..=500 (missing or not a number: 1) from a raw
/// query string such as `queries=20`.
pub fn clamp_count(query: Option<&str>, name: &str) -> usize {
    query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .and_then(|(_, v)| v.parse::<i64>().ok())
        .map_or(1, |n| n.clamp(1, 500) as usize)
}

pub fn rng() -> SmallRng {
    SmallRng::from_rng(&mut rand::rng())
}

pub fn random_id(rng: &mut SmallRng) -> i32 {
    rng.random_range(1..=WORLD_ROWS)
}

/// `n` distinct random ids.
pub fn random_ids(rng: &mut SmallRng, n: usize) -> Vec<i32> {
    let mut ids: Vec<i32> = Vec::with_capacity(n);
    while ids.len() < n {
        let id = random_id(rng);
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

/// The settings db.sh prints, as a tokio-postgres connection string.
pub fn conninfo() -> String {
    format!(
        "host={} port={} user=benchmarkdbuser password=benchmarkdbpass dbname=hello_world",
        std::env::var("DB_HOST").unwrap_or_else(|_| "127.0.0.1".into()),
        std::env::var("DB_PORT").unwrap_or_else(|_| "5433".into()),
    )
}

/// `--flag N` or the environment variable, else `default`.
pub fn setting(flag: &str, env: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    let raw = match args.iter().position(|a| a == flag) {
        Some(i) => args.get(i + 1).cloned(),
        None => std::env::var(env).ok(),
    };
    raw.and_then(|r| r.parse().ok()).unwrap_or(default)
}

/// A connection with its statements prepared; queries issued together are pipelined.
pub struct Pg {
    client: Client,
    world: Statement,
    fortunes: Statement,
    update: Statement,
}

impl Pg {
    /// Connects; the connection's driver runs as a task of the current runtime.
    pub async fn connect() -> Result<Pg, tokio_postgres::Error> {
        let (client, connection) = tokio_postgres::connect(&conninfo(), NoTls).await?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                eprintln!("database connection: {e}");
            }
        });
        Ok(Pg {
            world: client.prepare(SELECT_WORLD).await?,
            fortunes: client.prepare(SELECT_FORTUNES).await?,
            update: client.prepare(UPDATE_WORLDS).await?,
            client,
        })
    }

    pub async fn world(&self, id: i32) -> Result<World, tokio_postgres::Error> {
        let row = self.client.query_one(&self.world, &[&id]).await?;
        Ok(World {
            id: row.get(0),
            random_number: row.get(1),
        })
    }

    pub async fn worlds(&self, ids: &[i32]) -> Result<Vec<World>, tokio_postgres::Error> {
        try_join_all(ids.iter().map(|&id| self.world(id))).await
    }

    /// Reads `n` random rows, gives each a new random number, writes them back.
    pub async fn update(&self, n: usize) -> Result<Vec<World>, tokio_postgres::Error> {
        let mut rng = rng();
        let mut ids = random_ids(&mut rng, n);
        ids.sort_unstable();
        let mut worlds = self.worlds(&ids).await?;
        for w in &mut worlds {
            w.random_number = random_id(&mut rng);
        }
        let numbers: Vec<i32> = worlds.iter().map(|w| w.random_number).collect();
        self.client.execute(&self.update, &[&ids, &numbers]).await?;
        Ok(worlds)
    }

    /// The fortunes page, with the row added at request time, sorted by message.
    pub async fn fortunes_page(&self) -> Result<String, Box<dyn std::error::Error>> {
        let fortunes: Vec<Fortune> = self
            .client
            .query(&self.fortunes, &[])
            .await?
            .iter()
            .map(|r| Fortune {
                id: r.get(0),
                message: Cow::Owned(r.get(1)),
            })
            .collect();
        Ok(render_fortunes(fortunes)?)
    }

    /// Every World row's number, indexed by id - 1 (the cached-queries test's cache).
    pub async fn all_worlds(&self) -> Result<Vec<i32>, tokio_postgres::Error> {
        let mut cache = vec![0; WORLD_ROWS as usize];
        for r in self.client.query(SELECT_ALL_WORLDS, &[]).await? {
            let id: i32 = r.get(0);
            cache[(id - 1) as usize] = r.get(1);
        }
        Ok(cache)
    }
}

/// `count` random rows from the cache.
pub fn cached_worlds(cache: &[i32], count: usize) -> Vec<World> {
    let mut rng = rng();
    (0..count)
        .map(|_| {
            let id = random_id(&mut rng);
            World {
                id,
                random_number: cache[(id - 1) as usize],
            }
        })
        .collect()
}
