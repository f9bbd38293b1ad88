//! CMS practitioner MUE table (SPEC §7): `HCPCS/CPT Code, Practitioner Services MUE Values, ...`
//! after a copyright preamble. No values are built in.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context, Result};

pub struct MueTable {
    pub source: String,
    pub values: HashMap<String, i64>,
}

impl MueTable {
    pub fn load(path: &Path) -> Result<MueTable> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("{}: cannot read --mue file", path.display()))?;
        MueTable::parse(&bytes, &path.display().to_string())
    }

    pub fn parse(bytes: &[u8], source: &str) -> Result<MueTable> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(bytes);
        let mut values = HashMap::new();
        let mut header_seen = false;
        for rec in rdr.records() {
            let rec = rec.with_context(|| format!("{source}: not a readable CSV"))?;
            let line = rec.position().map(|p| p.line()).unwrap_or(0);
            let first = rec.get(0).unwrap_or("").trim();
            if !header_seen {
                // the preamble ends at the header row
                header_seen = first.to_ascii_uppercase().starts_with("HCPCS");
                continue;
            }
            if first.is_empty() {
                continue;
            }
            let value = rec.get(1).unwrap_or("").trim();
            let v: i64 = value.parse().ok().filter(|v| *v >= 0).with_context(|| {
                format!(
                    "{source}: line {line}: MUE value `{value}` of {first} is not a whole number"
                )
            })?;
            // a code listed twice keeps its lowest value: the stricter edit
            let e = values.entry(first.to_ascii_uppercase()).or_insert(v);
            *e = (*e).min(v);
        }
        if !header_seen {
            bail!("{source}: no `HCPCS/CPT Code` header row: not a CMS practitioner MUE file");
        }
        Ok(MueTable {
            source: source.to_string(),
            values,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_cms_layout_after_its_preamble() {
        let text = "\"CPT codes, descriptions and other data only are copyright 2025 American Medical Association.\"\nMADE-UP VALUES FOR TESTS\n\"HCPCS/CPT Code\",\"Practitioner Services MUE Values\",\"MUE Adjudication Indicator\",\"MUE Rationale\"\n97124,4,\"3 Date of Service Edit: Clinical\",\"Clinical: Data\"\n97140,4,\"3 Date of Service Edit: Clinical\",\"Clinical: Data\"\n";
        let t = MueTable::parse(text.as_bytes(), "mue.csv").unwrap();
        assert_eq!(t.values.get("97124"), Some(&4));
        assert_eq!(t.values.len(), 2);
        assert!(MueTable::parse(b"a,b\n1,2\n", "x.csv").is_err());
    }
}
