//! logstat: reads JSON-lines access logs on stdin and prints per-status counts.
use std::collections::BTreeMap;
use std::io::{self, BufRead};

use anyhow::{Context, Result};
use clap::{Arg, Command};

mod summary;

fn main() -> Result<()> {
    let args = Command::new("logstat")
        .about("Summarise JSON-lines access logs read on stdin")
        .arg(Arg::new("path").long("path").help("only count requests whose path starts with this"))
        .get_matches();
    let filter = args.get_one::<String>("path").cloned();
    let stdin = io::stdin();
    let mut counts: BTreeMap<u64, u64> = BTreeMap::new();
    let mut bytes = 0u64;
    for (n, line) in stdin.lock().lines().enumerate() {
        let line = line.context("reading stdin")?;
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(&line).with_context(|| format!("line {}: not JSON", n + 1))?;
        if let Some(prefix) = &filter {
            if !v["path"].as_str().unwrap_or("").starts_with(prefix.as_str()) {
                continue;
            }
        }
        let status = v["status"].as_u64().unwrap_or(0);
        *counts.entry(status).or_default() += 1;
        bytes += v["bytes"].as_u64().unwrap_or(0);
    }
    println!("{}", summary::render(&counts, bytes));
    Ok(())
}
