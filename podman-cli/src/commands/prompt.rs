//! Podman's `[y/N]` questions (prune, reset).

use std::io::{BufRead, Write};

/// Print `text` and read one line: true when the answer starts with y or Y.
pub fn confirm(text: &str) -> anyhow::Result<bool> {
    print!("{text}");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim_start().starts_with(['y', 'Y']))
}
