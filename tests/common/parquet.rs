//! Parquet files for the tests, with the `parquet` crate claimscrub reads and writes them with:
//! inputs of given column types, and outputs read back as typed values.

use std::path::Path;
use std::sync::Arc;

use parquet::basic::{LogicalType, Type as Physical};
use parquet::data_type::{ByteArray, ByteArrayType, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::writer::SerializedFileWriter;
use parquet::record::Field;
use parquet::schema::parser::parse_message_type;

/// The values of a column to write (`None` = null).
pub enum Values {
    Text(Vec<Option<String>>),
    Int32(Vec<Option<i32>>),
    Int64(Vec<Option<i64>>),
    /// One list of texts per row (a column no single value can be read from).
    TextList(Vec<Vec<String>>),
}

/// A column to write: its name, its Parquet type as a schema line writes it after the name's
/// place (`BYTE_ARRAY (UTF8)`, `INT32 (DATE)`, `INT64 (DECIMAL(10,2))`, ...) and its values.
pub struct Col {
    pub name: String,
    pub ty: String,
    pub values: Values,
}

pub fn text(name: &str, v: &[Option<&str>]) -> Col {
    Col {
        name: name.into(),
        ty: "BYTE_ARRAY (UTF8)".into(),
        values: Values::Text(v.iter().map(|x| x.map(String::from)).collect()),
    }
}

pub fn int32(name: &str, ty: &str, v: &[i32]) -> Col {
    Col {
        name: name.into(),
        ty: ty.into(),
        values: Values::Int32(v.iter().map(|x| Some(*x)).collect()),
    }
}

pub fn int64(name: &str, ty: &str, v: &[i64]) -> Col {
    Col {
        name: name.into(),
        ty: ty.into(),
        values: Values::Int64(v.iter().map(|x| Some(*x)).collect()),
    }
}

/// Write `cols` as a Parquet file (snappy, dictionary-encoded where the writer chooses so).
pub fn write(path: &Path, cols: &[Col]) {
    let mut fields = String::new();
    for c in cols {
        match c.values {
            Values::TextList(_) => fields.push_str(&format!(
                "OPTIONAL group {} (LIST) {{ REPEATED group list {{ OPTIONAL BYTE_ARRAY element (UTF8); }} }}\n",
                c.name
            )),
            _ => {
                // `TYPE name (ANNOTATION);`
                let (physical, annotation) = c.ty.split_once(' ').unwrap_or((&c.ty, ""));
                fields.push_str(&format!("OPTIONAL {physical} {} {annotation};\n", c.name))
            }
        }
    }
    let schema = Arc::new(parse_message_type(&format!("message schema {{\n{fields}}}")).unwrap());
    let props = WriterProperties::builder()
        .set_compression(parquet::basic::Compression::SNAPPY)
        .build();
    let f = std::fs::File::create(path).unwrap();
    let mut w = SerializedFileWriter::new(f, schema, Arc::new(props)).unwrap();
    let mut rg = w.next_row_group().unwrap();
    let mut cols = cols.iter();
    while let Some(mut cw) = rg.next_column().unwrap() {
        let c = cols.next().unwrap();
        match &c.values {
            Values::Text(v) => {
                let defs: Vec<i16> = v.iter().map(|x| x.is_some() as i16).collect();
                let vals: Vec<ByteArray> = v.iter().flatten().map(|s| s.as_str().into()).collect();
                cw.typed::<ByteArrayType>()
                    .write_batch(&vals, Some(&defs), None)
                    .unwrap();
            }
            Values::Int32(v) => {
                let defs: Vec<i16> = v.iter().map(|x| x.is_some() as i16).collect();
                let vals: Vec<i32> = v.iter().flatten().copied().collect();
                cw.typed::<Int32Type>()
                    .write_batch(&vals, Some(&defs), None)
                    .unwrap();
            }
            Values::Int64(v) => {
                let defs: Vec<i16> = v.iter().map(|x| x.is_some() as i16).collect();
                let vals: Vec<i64> = v.iter().flatten().copied().collect();
                cw.typed::<Int64Type>()
                    .write_batch(&vals, Some(&defs), None)
                    .unwrap();
            }
            Values::TextList(rows) => {
                let (mut defs, mut reps, mut vals) =
                    (Vec::new(), Vec::new(), Vec::<ByteArray>::new());
                for row in rows {
                    for (i, s) in row.iter().enumerate() {
                        defs.push(3);
                        reps.push((i > 0) as i16);
                        vals.push(s.as_str().into());
                    }
                }
                cw.typed::<ByteArrayType>()
                    .write_batch(&vals, Some(&defs), Some(&reps))
                    .unwrap();
            }
        }
        cw.close().unwrap();
    }
    rg.close().unwrap();
    w.close().unwrap();
}

/// A CSV file as a Parquet file of text columns (an empty field as null), as a user's export
/// of every column as text would be.
pub fn csv_to_parquet(csv: &Path, pq: &Path) {
    let (header, rows) = super::read_csv(csv);
    let cols: Vec<Col> = header
        .iter()
        .enumerate()
        .map(|(c, name)| Col {
            name: name.clone(),
            ty: "BYTE_ARRAY (UTF8)".into(),
            values: Values::Text(
                rows.iter()
                    .map(|r| Some(r[c].clone()).filter(|v| !v.is_empty()))
                    .collect(),
            ),
        })
        .collect();
    write(pq, &cols);
}

/// A value read back from a Parquet output.
#[derive(Debug, PartialEq)]
pub enum Value {
    Null,
    Text(String),
    Int(i64),
    /// `YYYY-MM-DD`.
    Date(String),
    /// Unscaled value and scale.
    Decimal(i128, usize),
    Other(String),
}

/// A Parquet file read back: column names, their types (`text`, `int`, `date`,
/// `decimal(P,S)`, or the physical type's name) and the rows.
pub struct Table {
    pub names: Vec<String>,
    pub types: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

impl Table {
    pub fn height(&self) -> usize {
        self.rows.len()
    }

    pub fn col(&self, name: &str) -> usize {
        self.names
            .iter()
            .position(|n| n == name)
            .unwrap_or_else(|| panic!("no column {name} in {:?}", self.names))
    }

    pub fn column(&self, name: &str) -> Vec<&Value> {
        let c = self.col(name);
        self.rows.iter().map(|r| &r[c]).collect()
    }

    pub fn type_of(&self, name: &str) -> &str {
        &self.types[self.col(name)]
    }
}

pub fn read(path: &Path) -> Table {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let r = SerializedFileReader::new(f).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let schema = r.metadata().file_metadata().schema_descr_ptr();
    let mut names = Vec::new();
    let mut types = Vec::new();
    for c in schema.columns() {
        names.push(c.name().to_string());
        types.push(match (c.physical_type(), c.logical_type_ref()) {
            (Physical::BYTE_ARRAY, Some(LogicalType::String)) => "text".to_string(),
            (Physical::INT64, None) => "int".to_string(),
            (Physical::INT64, Some(LogicalType::Integer(t)))
                if t.is_signed && t.bit_width == 64 =>
            {
                "int".to_string()
            }
            (Physical::INT32, Some(LogicalType::Date)) => "date".to_string(),
            (_, Some(LogicalType::Decimal(d))) => format!("decimal({},{})", d.precision, d.scale),
            (p, l) => format!("{p} {l:?}"),
        });
    }
    let mut rows = Vec::new();
    for row in r.get_row_iter(None).unwrap() {
        let row = row.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        rows.push(
            row.get_column_iter()
                .map(|(_, f)| match f {
                    Field::Null => Value::Null,
                    Field::Str(s) => Value::Text(s.clone()),
                    Field::Long(v) => Value::Int(*v),
                    Field::Date(d) => Value::Date(
                        (chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()
                            + chrono::Duration::days(*d as i64))
                        .format("%Y-%m-%d")
                        .to_string(),
                    ),
                    Field::Decimal(d) => {
                        let mut v: i128 = if d.data().first().is_some_and(|b| b & 0x80 != 0) {
                            -1
                        } else {
                            0
                        };
                        for b in d.data() {
                            v = (v << 8) | *b as i128;
                        }
                        Value::Decimal(v, d.scale() as usize)
                    }
                    other => Value::Other(format!("{other:?}")),
                })
                .collect(),
        );
    }
    Table { names, types, rows }
}
