//! Development aid: `cargo run -p octo-groupmd --example extract_dir -- DATA_DIR PRED_DIR`
//! writes the maintainer's items for every `conv-*.json` (what
//! `octo groupmd extract` prints, without building the server binary).

use std::{env, fs, path::PathBuf};

use octo_groupmd::{Conversation, Output, extract};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = env::args().skip(1);
    let (Some(data), Some(pred)) = (args.next(), args.next()) else {
        return Err("usage: extract_dir DATA_DIR PRED_DIR".into());
    };
    fs::create_dir_all(&pred)?;
    for entry in fs::read_dir(&data)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if !(name.starts_with("conv-") && name.ends_with(".json")) {
            continue;
        }
        let (members, messages) =
            Conversation::from_json(&fs::read_to_string(&path)?)?.into_parts();
        let out = Output::from(extract(&members, &messages));
        fs::write(
            PathBuf::from(&pred).join(name),
            serde_json::to_string_pretty(&out)?,
        )?;
    }
    Ok(())
}
