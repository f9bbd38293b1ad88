-- claimscrub reference implementation in DuckDB SQL (SPEC v1 §2–§5, §8; outputs of §6 in part; v2 §9;
-- v2 §10's therapy threshold without earlier runs).
--
-- What a careful analyst would write to scrub a batch in SQL: one pass over three CSV files, CTEs,
-- window functions and list functions, no procedural code. Used by run_reference.py as a benchmark
-- baseline for claimscrub and as an independent cross-check of its findings.
--
-- Placeholders, replaced by run_reference.py before the script runs (paths are SQL-quoted):
--   ${CLAIMS} ${SESSIONS} ${PRESCRIPTIONS}   the three input CSV files
--   ${REF_DIR}   directory holding icd10cm_fy*.tsv.gz and wellness_codes.tsv (src/reference/data)
--   ${MUE}       the CMS practitioner MUE CSV; the block between BEGIN MUE / END MUE is dropped without --mue
--   ${NCCI}      a SQL list of CMS practitioner PTP edit files (--ncci, repeatable); the block between
--                BEGIN NCCI / END NCCI is dropped without one
--   ${OUT}       output directory;  ${HOLD}  'claim' (default) or 'line'
--
-- Simplifications (see README.md):
--   * Built-in payer policy only (no --policy, no per-payer MUE overrides, no policy [[pairs]]); built-in
--     code sets only (no --icd10).
--   * Malformed rows are detected with the checks of SPEC §2/§8 (empty required values, dates, integers,
--     charges, enumerations, line_no < 1, negative counts, duplicate patient_id+rx_id, wrong field count) and
--     excluded (nothing is silently cast: a value that fails its check makes the row malformed). Simplified:
--     malformed.csv names file, key and reason but not the physical line or the raw text, and for a row
--     with the wrong number of fields the claim_id is taken by splitting the raw line on ',' (no quoting).
--   * Column names are matched with DuckDB's normalize_names (trimmed, lower-cased; also drops other
--     non-alphanumeric characters, which the SPEC does not do).
--   * No rejections message/CARC/RARC text, no summary.json: findings.csv is (claim_id, line_no, rule).

SET preserve_insertion_order = true;

---------------------------------------------------------------------------------------------------
-- 0. Helpers
---------------------------------------------------------------------------------------------------
-- SPEC §8: fields are trimmed; an empty value is "not given".
CREATE OR REPLACE MACRO clean(s) AS
    nullif(trim(s, ' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13)), '');
-- YYYY-MM-DD or M/D/YYYY (leading zeros optional); impossible dates give NULL.
CREATE OR REPLACE MACRO parse_day(s) AS CASE
    WHEN regexp_full_match(s, '[0-9]{4}-[0-9]{2}-[0-9]{2}') THEN try_strptime(s, '%Y-%m-%d')::DATE
    WHEN regexp_full_match(s, '[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}') THEN try_strptime(s, '%m/%d/%Y')::DATE
END;
-- Integers are digits with an optional sign (TRY_CAST alone would accept '1.0', '1e3' and ' 1').
CREATE OR REPLACE MACRO parse_int(s) AS
    CASE WHEN regexp_full_match(s, '[+-]?[0-9]{1,19}') THEN try_cast(s AS BIGINT) END;
-- Charges are plain decimals ('60', '60.5', '.50', '-12.00'); '$60' and '1,000.00' are not.
CREATE OR REPLACE MACRO is_charge(s) AS
    regexp_full_match(s, '[+-]?([0-9]{1,12}(\.[0-9]{0,6})?|\.[0-9]{1,6})');
-- A `;` list: items trimmed, upper-cased, empty items dropped, order kept.
CREATE OR REPLACE MACRO code_list(s) AS
    list_filter(list_transform(string_split(coalesce(s, ''), ';'), lambda c: upper(clean(c))),
                lambda c: c IS NOT NULL);
-- 15-minute units that m minutes support: 8 minutes or more per unit (both unit rules use it).
CREATE OR REPLACE MACRO units_for(m) AS CASE WHEN m < 8 THEN 0 ELSE (m + 7) // 15 END;
-- ICD-10-CM fiscal year: FY N runs N-1-10-01 .. N-09-30.
CREATE OR REPLACE MACRO fiscal_year(d) AS year(d) + CASE WHEN month(d) >= 10 THEN 1 ELSE 0 END;
-- Formula guard of SPEC §8 "Outputs" for ids written to findings.csv.
CREATE OR REPLACE MACRO sheet_safe(s) AS
    CASE WHEN regexp_matches(s, '^([=+@]|-([^0-9]|$))') THEN '''' || s ELSE s END;
CREATE OR REPLACE MACRO pressure_rank(p) AS
    CASE p WHEN 'light' THEN 1 WHEN 'moderate' THEN 2 WHEN 'deep' THEN 3 END;

---------------------------------------------------------------------------------------------------
-- 1. Reference data: built-in policy (`claimscrub policy`), ICD-10-CM code sets, wellness prefixes, MUE
---------------------------------------------------------------------------------------------------
-- ncci: CMS's PTP edits (--ncci) apply to the profile's lines (SPEC §9). required_any: one of the
-- required modifiers is enough (`{ any_of = [...] }`: the therapy modifiers GP, GO, GN), else all of them.
CREATE OR REPLACE TABLE payer_profile (payer_type VARCHAR, unit_rule VARCHAR, required_modifiers VARCHAR[],
                                       required_any BOOLEAN, ncci BOOLEAN);
INSERT INTO payer_profile VALUES
    ('auto_pip', 'per_code', [], false, false), ('commercial', 'per_code', [], false, false),
    ('medicaid', 'cms', ['GP', 'GO', 'GN'], true, true), ('medicare', 'cms', ['GP', 'GO', 'GN'], true, true),
    ('workers_comp', 'per_code', [], false, false);

-- The Medicare therapy threshold (SPEC §10): KX amount by profile and calendar year, and the review
-- amount; only the profiles listed here count a patient's therapy. No fee_schedule in the built-in policy.
CREATE OR REPLACE TABLE kx_threshold (payer_type VARCHAR, yr INTEGER, amount DECIMAL(18, 6));
INSERT INTO kx_threshold VALUES ('medicare', 2024, 2330), ('medicare', 2025, 2410), ('medicare', 2026, 2480);
CREATE OR REPLACE TABLE kx_review (payer_type VARCHAR, amount DECIMAL(18, 6));
INSERT INTO kx_review VALUES ('medicare', 3000);

-- Timed codes (15-minute units): 97032-97036, 97110, 97112, 97113, 97116, 97124, 97140, 97530, 97535,
-- 97542, 97750, 97760, 97761, 97763. Physical medicine (where the required modifiers apply): 97010-97799.
CREATE OR REPLACE MACRO is_timed(cpt) AS cpt IN ('97032', '97033', '97034', '97035', '97036', '97110',
    '97112', '97113', '97116', '97124', '97140', '97530', '97535', '97542', '97750', '97760', '97761', '97763');
CREATE OR REPLACE MACRO is_physical_medicine(cpt) AS
    coalesce(regexp_full_match(cpt, '[0-9]{5}') AND try_cast(cpt AS INTEGER) BETWEEN 97010 AND 97799, false);

CREATE OR REPLACE TABLE modality (name VARCHAR, default_pressure VARCHAR);
INSERT INTO modality VALUES ('swedish', 'moderate'), ('deep_tissue', 'deep'), ('trigger_point', 'deep'),
    ('sports', 'deep'), ('myofascial', 'moderate'), ('mld', 'light'), ('other', 'moderate');

-- ICD-10-CM code sets, one per fiscal year (taken from the file name), code without its dot.
CREATE OR REPLACE TABLE icd AS
SELECT regexp_extract(filename, 'fy([0-9]{4})', 1)::INTEGER AS fy,
       upper(code) AS code,
       billable = '1' AS billable
FROM read_csv('${REF_DIR}/icd10cm_fy*.tsv.gz', delim = '\t', header = true, all_varchar = true,
              quote = '', filename = true);
CREATE OR REPLACE TABLE code_set AS SELECT DISTINCT fy FROM icd;

CREATE OR REPLACE TABLE wellness AS
SELECT list(upper(clean(prefix))) FILTER (WHERE clean(prefix) IS NOT NULL) AS prefixes
FROM read_csv('${REF_DIR}/wellness_codes.tsv', delim = '\t', header = true, all_varchar = true, quote = '');

-- MUE: CMS practitioner layout (copyright preamble, then the `HCPCS/CPT Code,...` header row).
-- A code listed twice keeps its lowest value. Empty without --mue: UNITS_OVER_MUE is then not checked.
CREATE OR REPLACE TABLE mue (cpt VARCHAR, mue_limit BIGINT);
-- BEGIN MUE
INSERT INTO mue
WITH raw AS (
    SELECT row_number() OVER () AS n, clean(c0) AS code, clean(c1) AS value
    FROM read_csv('${MUE}', header = false, auto_detect = false, strict_mode = false, null_padding = true,
                  parallel = false, delim = ',', quote = '"', escape = '"',
                  columns = {'c0': 'VARCHAR', 'c1': 'VARCHAR', 'c2': 'VARCHAR', 'c3': 'VARCHAR'})
), header_row AS (
    SELECT min(n) AS n FROM raw WHERE starts_with(upper(coalesce(code, '')), 'HCPCS')
)
SELECT upper(code), min(CASE WHEN parse_int(value) >= 0 THEN parse_int(value)
                             ELSE error('MUE value `' || coalesce(value, '') || '` of ' || code || ' is not a whole number') END)
FROM raw, header_row
WHERE raw.n > header_row.n AND code IS NOT NULL
GROUP BY upper(code);
-- END MUE

-- NCCI procedure-to-procedure edits (SPEC §9): CMS's practitioner files as distributed. Each file is
-- read as text lines: a preamble, then the header row (the first line whose first cell, unquoted, with
-- spaces removed and lower-cased, starts with `column1`); its separator (tab if the line has one, else
-- comma) is the file's. Below it: blank rows and legend rows (first cell empty or holding `=`) are
-- skipped; every other row is an edit with its cells by position: column 1, column 2, pre-1996 flag,
-- effective date, deletion date (`*` = open-ended, NULL here), modifier indicator, rationale. A file
-- without a header row, or a row whose codes, dates or indicator cannot be read, stops the run.
-- Empty without --ncci: NCCI_PTP_CONFLICT is then not checked.
CREATE OR REPLACE MACRO unquote(c) AS trim(trim(trim(c, ' ' || chr(9) || chr(11) || chr(12) || chr(13)), '"'),
                                           ' ' || chr(9) || chr(11) || chr(12) || chr(13));
CREATE OR REPLACE MACRO is_procedure_code(c) AS regexp_full_match(c, '[A-Za-z0-9]{1,8}');
CREATE OR REPLACE MACRO ptp_date(c) AS
    CASE WHEN regexp_full_match(c, '[0-9]{8}') THEN try_strptime(c, '%Y%m%d')::DATE END;
CREATE OR REPLACE TABLE ptp_edit (column1 VARCHAR, column2 VARCHAR, effective DATE, deletion DATE, indicator INTEGER);
-- BEGIN NCCI
CREATE OR REPLACE TABLE ptp_line AS
WITH files AS (
    SELECT filename, string_split(content, chr(10)) AS lines FROM read_text(${NCCI})
)
SELECT filename, unnest(range(1, len(lines) + 1)) AS n, regexp_replace(unnest(lines), '\r$', '') AS line
FROM files;

CREATE OR REPLACE TABLE ptp_header AS
WITH heads AS (
    SELECT filename, n, CASE WHEN contains(line, chr(9)) THEN chr(9) ELSE ',' END AS sep, line
    FROM ptp_line
), found AS (
    SELECT filename, min(n) AS n, arg_min(sep, n) AS sep
    FROM heads
    WHERE starts_with(replace(lower(unquote(string_split(line, sep)[1])), ' ', ''), 'column1')
    GROUP BY filename
)
SELECT f.filename,
       CASE WHEN h.n IS NULL THEN error(f.filename || ': no header row starting with `Column 1`: not a CMS NCCI PTP edit file')
            ELSE h.n END AS n,
       h.sep
FROM (SELECT DISTINCT filename FROM ptp_line) f LEFT JOIN found h USING (filename);

INSERT INTO ptp_edit
WITH rows AS (
    SELECT l.filename, l.n, list_transform(string_split(l.line, h.sep), lambda c: unquote(c)) AS cells
    FROM ptp_line l JOIN ptp_header h ON h.filename = l.filename AND l.n > h.n
), cells AS (
    SELECT filename, n, coalesce(cells[1], '') AS c1, coalesce(cells[2], '') AS c2, coalesce(cells[4], '') AS eff,
           coalesce(cells[5], '') AS del, coalesce(cells[6], '') AS ind
    FROM rows
    WHERE NOT list_bool_and(list_transform(cells, lambda c: c = ''))      -- blank rows
      AND cells[1] <> '' AND NOT contains(cells[1], '=')                    -- legend rows (`*=no data`)
)
SELECT CASE WHEN is_procedure_code(c1) THEN upper(c1)
            ELSE error(filename || ': line ' || n || ': column 1 code `' || c1 || '` is not a procedure code') END,
       CASE WHEN is_procedure_code(c2) THEN upper(c2)
            ELSE error(filename || ': line ' || n || ': column 2 code `' || c2 || '` is not a procedure code') END,
       coalesce(ptp_date(eff), error(filename || ': line ' || n || ': effective date `' || eff || '` is not YYYYMMDD')),
       CASE WHEN del = '*' THEN NULL
            ELSE coalesce(ptp_date(del), error(filename || ': line ' || n || ': deletion date `' || del || '` is not YYYYMMDD or `*`')) END,
       CASE WHEN ind IN ('0', '1', '9') THEN ind::INTEGER
            ELSE error(filename || ': line ' || n || ': modifier indicator `' || ind || '` is not 0, 1 or 9') END
FROM cells;
-- END NCCI

---------------------------------------------------------------------------------------------------
-- 2. Inputs (SPEC §2). Every column as VARCHAR; names normalised; rows that cannot be split into the
--    header's number of fields land in the *_rejects tables (they are malformed).
---------------------------------------------------------------------------------------------------
CREATE OR REPLACE TABLE claims_raw AS
SELECT * FROM read_csv('${CLAIMS}', header = true, all_varchar = true, normalize_names = true,
                       delim = ',', quote = '"', escape = '"', ignore_errors = true,
                       store_rejects = true, rejects_table = 'claims_rejects', rejects_scan = 'claims_rejects_scan');
CREATE OR REPLACE TABLE sessions_raw AS
SELECT * FROM read_csv('${SESSIONS}', header = true, all_varchar = true, normalize_names = true,
                       delim = ',', quote = '"', escape = '"', ignore_errors = true,
                       store_rejects = true, rejects_table = 'sessions_rejects', rejects_scan = 'sessions_rejects_scan');
CREATE OR REPLACE TABLE prescriptions_raw AS
SELECT * FROM read_csv('${PRESCRIPTIONS}', header = true, all_varchar = true, normalize_names = true,
                       delim = ',', quote = '"', escape = '"', ignore_errors = true,
                       store_rejects = true, rejects_table = 'prescriptions_rejects', rejects_scan = 'prescriptions_rejects_scan');

-- A missing required column stops the run (SPEC §1, exit 2). normalize_names turns `minutes` into `_minutes`.
SELECT error(t || ': missing required column `' || c || '`')
FROM (VALUES
    ('claims', 'claim_id'), ('claims', 'line_no'), ('claims', 'patient_id'), ('claims', 'payer_type'),
    ('claims', 'rendering_npi'), ('claims', 'service_date'), ('claims', 'cpt'), ('claims', 'units'),
    ('claims', 'charge'), ('claims', 'diagnosis_codes'),
    ('sessions', 'session_id'), ('sessions', 'patient_id'), ('sessions', 'therapist_npi'),
    ('sessions', 'service_date'), ('sessions', 'cpt'), ('sessions', '_minutes'),
    ('prescriptions', 'rx_id'), ('prescriptions', 'patient_id'), ('prescriptions', 'prescriber_npi'),
    ('prescriptions', 'document_type'), ('prescriptions', 'diagnosis_codes'),
    ('prescriptions', 'start_date'), ('prescriptions', 'end_date')) AS req(t, c)
WHERE NOT EXISTS (SELECT 1 FROM duckdb_columns() dc
                  WHERE dc.table_name = req.t || '_raw' AND dc.column_name IN (req.c, ltrim(req.c, '_')));

-- claims: one row per service line; `seq` = read order (rowid of the insertion-ordered raw table).
CREATE OR REPLACE TABLE claims AS
WITH padded AS (          -- optional columns that are absent read as empty
    FROM (SELECT NULL::VARCHAR AS claim_id, NULL::VARCHAR AS line_no, NULL::VARCHAR AS patient_id,
                 NULL::VARCHAR AS payer_type, NULL::VARCHAR AS rendering_npi, NULL::VARCHAR AS rx_id,
                 NULL::VARCHAR AS service_date, NULL::VARCHAR AS cpt, NULL::VARCHAR AS modifiers,
                 NULL::VARCHAR AS units, NULL::VARCHAR AS charge, NULL::VARCHAR AS diagnosis_codes LIMIT 0)
    UNION ALL BY NAME
    FROM (SELECT rowid AS seq, * FROM claims_raw)
), v AS (
    SELECT seq,
           clean(claim_id)                              AS claim_id,
           clean(line_no)                               AS line_no_text,
           parse_int(clean(line_no))                    AS line_no,
           clean(patient_id)                            AS patient_id,
           lower(clean(payer_type))                     AS payer_type,
           clean(rendering_npi)                         AS rendering_npi,
           clean(rx_id)                                 AS rx_id,
           clean(service_date)                          AS service_date_text,
           parse_day(clean(service_date))               AS service_date,
           upper(clean(cpt))                            AS cpt,
           list_sort(list_distinct(code_list(modifiers))) AS modifiers,   -- a set (SPEC §8 "Duplicates")
           clean(units)                                 AS units_text,
           parse_int(clean(units))                      AS units,
           clean(charge)                                AS charge,
           code_list(diagnosis_codes)                   AS dx_codes
    FROM padded
)
SELECT v.*, p.unit_rule, p.required_modifiers, p.required_any,
       list_filter([
           CASE WHEN v.claim_id IS NULL THEN 'claim_id is empty' END,
           CASE WHEN v.line_no_text IS NULL THEN 'line_no is empty'
                WHEN v.line_no IS NULL OR v.line_no < 1 OR v.line_no > 4294967295 THEN 'line_no is not a line number >= 1' END,
           CASE WHEN v.patient_id IS NULL THEN 'patient_id is empty' END,
           CASE WHEN v.payer_type IS NULL THEN 'payer_type is empty'
                WHEN p.unit_rule IS NULL THEN 'payer_type is not a profile of the policy' END,
           CASE WHEN v.rendering_npi IS NULL THEN 'rendering_npi is empty' END,
           CASE WHEN v.service_date_text IS NULL THEN 'service_date is empty'
                WHEN v.service_date IS NULL THEN 'service_date is not a date' END,
           CASE WHEN v.cpt IS NULL THEN 'cpt is empty' END,
           CASE WHEN v.units_text IS NULL THEN 'units is empty'
                WHEN v.units IS NULL THEN 'units is not an integer' END,
           CASE WHEN v.charge IS NULL THEN 'charge is empty'
                WHEN NOT is_charge(v.charge) THEN 'charge is not a plain decimal' END
       ], lambda e: e IS NOT NULL) AS errors
FROM v LEFT JOIN payer_profile p USING (payer_type);

CREATE OR REPLACE TABLE sessions AS
WITH padded AS (
    FROM (SELECT NULL::VARCHAR AS session_id, NULL::VARCHAR AS patient_id, NULL::VARCHAR AS therapist_npi,
                 NULL::VARCHAR AS service_date, NULL::VARCHAR AS cpt, NULL::VARCHAR AS minutes,
                 NULL::VARCHAR AS _minutes, NULL::VARCHAR AS modality, NULL::VARCHAR AS pressure LIMIT 0)
    UNION ALL BY NAME
    FROM (SELECT rowid AS seq, * FROM sessions_raw)
), v AS (
    SELECT seq,
           clean(session_id)                             AS session_id,
           clean(patient_id)                             AS patient_id,
           clean(therapist_npi)                          AS therapist_npi,
           clean(service_date)                           AS service_date_text,
           parse_day(clean(service_date))                AS service_date,
           upper(clean(cpt))                             AS cpt,
           clean(coalesce(minutes, _minutes))            AS minutes_text,
           parse_int(clean(coalesce(minutes, _minutes))) AS minutes,
           lower(clean(modality))                        AS modality,
           lower(clean(pressure))                        AS pressure_text
    FROM padded
)
SELECT v.* EXCLUDE (pressure_text),
       coalesce(v.pressure_text, m.default_pressure) AS pressure,   -- empty pressure: from the modality
       list_filter([
           CASE WHEN v.session_id IS NULL THEN 'session_id is empty' END,
           CASE WHEN v.patient_id IS NULL THEN 'patient_id is empty' END,
           CASE WHEN v.therapist_npi IS NULL THEN 'therapist_npi is empty' END,
           CASE WHEN v.service_date_text IS NULL THEN 'service_date is empty'
                WHEN v.service_date IS NULL THEN 'service_date is not a date' END,
           CASE WHEN v.cpt IS NULL THEN 'cpt is empty' END,
           CASE WHEN v.minutes_text IS NULL THEN 'minutes is empty'
                WHEN v.minutes IS NULL THEN 'minutes is not an integer'
                WHEN v.minutes < 0 THEN 'minutes is negative' END,
           CASE WHEN v.modality IS NOT NULL AND m.name IS NULL THEN 'modality is unknown' END,
           CASE WHEN v.pressure_text IS NOT NULL AND pressure_rank(v.pressure_text) IS NULL THEN 'pressure is unknown' END
       ], lambda e: e IS NOT NULL) AS errors
FROM v LEFT JOIN modality m ON m.name = v.modality;

CREATE OR REPLACE TABLE prescriptions AS
WITH padded AS (
    FROM (SELECT NULL::VARCHAR AS rx_id, NULL::VARCHAR AS patient_id, NULL::VARCHAR AS prescriber_npi,
                 NULL::VARCHAR AS document_type, NULL::VARCHAR AS diagnosis_codes,
                 NULL::VARCHAR AS authorized_sessions, NULL::VARCHAR AS start_date, NULL::VARCHAR AS end_date,
                 NULL::VARCHAR AS frequency_per_week, NULL::VARCHAR AS allowed_cpt,
                 NULL::VARCHAR AS required_modality, NULL::VARCHAR AS max_pressure,
                 NULL::VARCHAR AS sessions_used LIMIT 0)
    UNION ALL BY NAME
    FROM (SELECT rowid AS seq, * FROM prescriptions_raw)
), v AS (
    SELECT seq,
           clean(rx_id)                                  AS rx_id,
           clean(patient_id)                             AS patient_id,
           clean(prescriber_npi)                         AS prescriber_npi,
           lower(clean(document_type))                   AS document_type,
           clean(diagnosis_codes)                        AS dx_text,
           list_transform(code_list(diagnosis_codes), lambda c: replace(c, '.', '')) AS dx_keys,
           clean(authorized_sessions)                    AS authorized_text,
           parse_int(clean(authorized_sessions))         AS authorized_sessions,
           clean(start_date)                             AS start_text,
           parse_day(clean(start_date))                  AS start_date,
           clean(end_date)                               AS end_text,
           parse_day(clean(end_date))                    AS end_date,
           clean(frequency_per_week)                     AS frequency_text,
           parse_int(clean(frequency_per_week))          AS frequency_per_week,
           coalesce(nullif(code_list(allowed_cpt), []), ['97124', '97140']) AS allowed_cpt,
           lower(clean(required_modality))               AS required_modality,
           lower(clean(max_pressure))                    AS max_pressure,
           clean(sessions_used)                          AS used_text,
           coalesce(parse_int(clean(sessions_used)), 0)  AS sessions_used
    FROM padded
), checked AS (
    SELECT v.*,
           list_filter([
               CASE WHEN rx_id IS NULL THEN 'rx_id is empty' END,
               CASE WHEN patient_id IS NULL THEN 'patient_id is empty' END,
               CASE WHEN prescriber_npi IS NULL THEN 'prescriber_npi is empty' END,
               CASE WHEN document_type IS NULL THEN 'document_type is empty'
                    WHEN document_type NOT IN ('prescription', 'referral', 'recommendation') THEN 'document_type is unknown' END,
               CASE WHEN dx_text IS NULL THEN 'diagnosis_codes is empty'
                    WHEN len(dx_keys) = 0 THEN 'diagnosis_codes names no code' END,
               CASE WHEN authorized_text IS NULL AND document_type = 'prescription' THEN 'authorized_sessions is empty'
                    WHEN authorized_text IS NOT NULL AND authorized_sessions IS NULL THEN 'authorized_sessions is not an integer'
                    WHEN authorized_sessions < 0 THEN 'authorized_sessions is negative' END,
               CASE WHEN start_text IS NULL THEN 'start_date is empty'
                    WHEN start_date IS NULL THEN 'start_date is not a date' END,
               CASE WHEN end_text IS NULL THEN 'end_date is empty'
                    WHEN end_date IS NULL THEN 'end_date is not a date' END,
               CASE WHEN frequency_text IS NOT NULL AND frequency_per_week IS NULL THEN 'frequency_per_week is not an integer'
                    WHEN frequency_per_week < 0 THEN 'frequency_per_week is negative' END,
               CASE WHEN required_modality IS NOT NULL
                         AND required_modality NOT IN (SELECT name FROM modality) THEN 'required_modality is unknown' END,
               CASE WHEN max_pressure IS NOT NULL AND pressure_rank(max_pressure) IS NULL THEN 'max_pressure is unknown' END,
               CASE WHEN used_text IS NOT NULL AND parse_int(used_text) IS NULL THEN 'sessions_used is not an integer'
                    WHEN sessions_used < 0 THEN 'sessions_used is negative' END
           ], lambda e: e IS NOT NULL) AS errors
    FROM v
)
-- A second well-formed row with the same patient_id and rx_id is malformed; the first one is used.
SELECT * REPLACE (CASE WHEN len(errors) = 0
                        AND row_number() OVER (PARTITION BY patient_id, rx_id, len(errors) = 0 ORDER BY seq) > 1
                       THEN ['a document with this patient_id and rx_id was already read']
                       ELSE errors END AS errors)
FROM checked;

-- Well-formed rows only from here on.
CREATE OR REPLACE VIEW docs AS
SELECT seq AS doc_seq, * EXCLUDE (seq) FROM prescriptions WHERE len(errors) = 0;

-- Claims whose rows include a malformed one (held whole with MALFORMED_LINE, SPEC §6). For rows that
-- could not be split into the header's fields, the claim_id is taken at its column position.
CREATE OR REPLACE TABLE malformed_claim AS
SELECT claim_id FROM claims WHERE len(errors) > 0 AND claim_id IS NOT NULL
UNION
SELECT clean(string_split(r.csv_line, ',')[c.column_index]) AS claim_id
FROM (SELECT DISTINCT line, csv_line FROM claims_rejects) r,
     (SELECT column_index FROM duckdb_columns() WHERE table_name = 'claims_raw' AND column_name = 'claim_id') c
WHERE clean(string_split(r.csv_line, ',')[c.column_index]) IS NOT NULL;

---------------------------------------------------------------------------------------------------
-- 3. Linking (SPEC §3, §8 "Documents", "Sessions")
---------------------------------------------------------------------------------------------------
-- Documented procedures: the session rows of one patient, date and procedure taken together.
CREATE OR REPLACE TABLE documented AS
SELECT patient_id, service_date, cpt,
       sum(minutes)                      AS minutes,
       list_distinct(list(modality))     AS modalities,      -- rows with an empty modality document none
       max(pressure_rank(pressure))      AS pressure_rank     -- the highest of the rows
FROM sessions WHERE len(errors) = 0
GROUP BY ALL;

-- Prescription of each line.
CREATE OR REPLACE TABLE line_rx AS
WITH lines AS (SELECT seq, patient_id, service_date, rx_id FROM claims WHERE len(errors) = 0),
given AS (                                   -- rx_id given: that document of this patient, or RX_NOT_FOUND
    SELECT l.seq,
           CASE WHEN d.document_type = 'prescription' THEN d.doc_seq END AS doc_seq,
           CASE WHEN d.doc_seq IS NULL THEN 'RX_NOT_FOUND'
                WHEN d.document_type <> 'prescription' THEN 'RX_NOT_A_PRESCRIPTION'
                WHEN l.service_date < d.start_date THEN 'RX_BEFORE_START'
                WHEN l.service_date > d.end_date THEN 'RX_EXPIRED' END AS link_rule
    FROM lines l LEFT JOIN docs d ON d.patient_id = l.patient_id AND d.rx_id = l.rx_id
    WHERE l.rx_id IS NOT NULL
),
dated AS (SELECT DISTINCT patient_id, service_date FROM lines WHERE rx_id IS NULL),
patient_docs AS (
    SELECT patient_id, count(*) AS n_docs, count(*) FILTER (WHERE document_type = 'prescription') AS n_rx
    FROM docs GROUP BY patient_id
),
chosen AS (                                  -- kind 0 covers the date, 1 ended before it, 2 starts after it
    SELECT v.patient_id, v.service_date, d.doc_seq,
           CASE WHEN v.service_date BETWEEN d.start_date AND d.end_date THEN 0
                WHEN d.end_date < v.service_date THEN 1 ELSE 2 END AS kind
    FROM dated v JOIN docs d ON d.patient_id = v.patient_id AND d.document_type = 'prescription'
    QUALIFY row_number() OVER (
        PARTITION BY v.patient_id, v.service_date
        ORDER BY kind,
                 CASE WHEN kind = 0 THEN d.start_date END DESC,   -- covering: latest start
                 CASE WHEN kind = 1 THEN d.end_date END DESC,     -- expired: latest end, then latest start
                 CASE WHEN kind = 1 THEN d.start_date END DESC,
                 CASE WHEN kind = 2 THEN d.start_date END ASC,    -- not started: earliest start
                 d.rx_id) = 1                                     -- then the smallest rx_id
),
dated_link AS (
    SELECT v.patient_id, v.service_date, c.doc_seq,
           CASE WHEN pd.n_docs IS NULL THEN 'RX_MISSING'
                WHEN pd.n_rx = 0 THEN 'RX_NOT_A_PRESCRIPTION'
                WHEN c.kind = 1 THEN 'RX_EXPIRED'
                WHEN c.kind = 2 THEN 'RX_BEFORE_START' END AS link_rule
    FROM dated v
    LEFT JOIN patient_docs pd USING (patient_id)
    LEFT JOIN chosen c USING (patient_id, service_date)
)
SELECT seq, doc_seq, link_rule FROM given
UNION ALL
SELECT l.seq, dl.doc_seq, dl.link_rule
FROM lines l JOIN dated_link dl USING (patient_id, service_date)
WHERE l.rx_id IS NULL;

-- Sessions counted against a prescription: its linked visits (one patient, so one per date) in date order,
-- numbered from sessions_used + 1; and the visit's rank in its Monday–Sunday week.
CREATE OR REPLACE TABLE rx_visit AS
WITH linked AS (
    SELECT DISTINCT r.doc_seq, c.service_date
    FROM line_rx r JOIN claims c USING (seq)
    WHERE r.doc_seq IS NOT NULL
)
SELECT l.doc_seq, l.service_date,
       d.sessions_used + row_number() OVER (PARTITION BY l.doc_seq ORDER BY l.service_date) AS visit_number,
       row_number() OVER (PARTITION BY l.doc_seq, date_trunc('week', l.service_date)
                          ORDER BY l.service_date) AS visit_in_week,
       d.authorized_sessions, d.frequency_per_week
FROM linked l JOIN docs d USING (doc_seq);

---------------------------------------------------------------------------------------------------
-- 4. Diagnosis codes (SPEC §5, §8 "Diagnosis codes")
---------------------------------------------------------------------------------------------------
-- The code set of each service date: its fiscal year, else the nearest loaded one (later on a tie).
CREATE OR REPLACE TABLE date_code_set AS
SELECT d.service_date, s.fy AS set_fy, s.fy = fiscal_year(d.service_date) AS covered
FROM (SELECT DISTINCT service_date FROM claims WHERE len(errors) = 0) d CROSS JOIN code_set s
QUALIFY row_number() OVER (PARTITION BY d.service_date
                           ORDER BY abs(s.fy - fiscal_year(d.service_date)), s.fy DESC) = 1;

CREATE OR REPLACE TABLE line_dx AS
WITH codes AS (
    SELECT seq, service_date, unnest(dx_codes) AS code
    FROM claims WHERE len(errors) = 0
), checked AS (
    SELECT c.seq, s.set_fy, s.covered,
           regexp_full_match(c.code, '[A-Z][0-9][A-Z0-9](\.?[A-Z0-9]{1,4})?') AS format_ok,
           replace(c.code, '.', '') AS icd_key                             -- M54.50 = M5450
    FROM codes c JOIN date_code_set s USING (service_date)
)
SELECT k.seq,
       bool_or(NOT k.format_ok)                                AS any_invalid,
       bool_or(k.format_ok AND i.billable IS NULL)             AS any_unknown,
       coalesce(bool_or(NOT i.billable), false)                AS any_header,
       bool_or(k.format_ok AND NOT k.covered)                  AS set_unavailable,
       coalesce(list(k.icd_key) FILTER (WHERE i.billable), []) AS billable_keys
FROM checked k
LEFT JOIN icd i ON k.format_ok AND i.fy = k.set_fy AND i.code = k.icd_key   -- bad format: not looked up
GROUP BY k.seq;

---------------------------------------------------------------------------------------------------
-- 5. Units (SPEC §4, §8 "Units")
---------------------------------------------------------------------------------------------------
-- Billed units of a code in a visit: lines with units >= 1 and a session row, across claims and payers.
CREATE OR REPLACE TABLE billed_code AS
SELECT c.patient_id, c.service_date, c.cpt, sum(c.units)::BIGINT AS billed
FROM claims c SEMI JOIN documented d USING (patient_id, service_date, cpt)
WHERE len(c.errors) = 0 AND c.units >= 1
GROUP BY ALL;

-- CMS 8-minute rule: the timed minutes documented in the visit (billed or not) are pooled.
-- T = pool minutes, U = units_for(T); each code gets floor(m/15); the R = U - sum(floor(m/15)) remainder
-- units go to the largest leftovers, so a code may take one when its leftover reaches the R-th largest.
CREATE OR REPLACE TABLE cms_pool AS
WITH timed AS (
    SELECT patient_id, service_date, cpt, minutes::BIGINT AS minutes,
           minutes // 15                 AS full_units,
           minutes % 15                  AS leftover,
           sum(minutes) OVER visit       AS pool_minutes,
           sum(minutes // 15) OVER visit AS pool_full,
           row_number() OVER (PARTITION BY patient_id, service_date ORDER BY minutes % 15 DESC) AS leftover_rank
    FROM documented
    WHERE is_timed(cpt)
    WINDOW visit AS (PARTITION BY patient_id, service_date)
), remainder AS (
    SELECT *, units_for(pool_minutes) AS pool_units, units_for(pool_minutes) - pool_full AS remainder_units
    FROM timed
), ranked AS (
    SELECT *, max(leftover) FILTER (WHERE leftover_rank = remainder_units)
                  OVER (PARTITION BY patient_id, service_date) AS rth_leftover
    FROM remainder
)
SELECT patient_id, service_date, cpt, minutes, full_units, pool_minutes::BIGINT AS pool_minutes,
       pool_units::BIGINT AS pool_units,
       full_units + CASE WHEN remainder_units >= 1 AND leftover > 0 AND leftover >= rth_leftover
                         THEN 1 ELSE 0 END AS max_units
FROM ranked;

-- Per visit: billed timed units, and whether some code is over its own CMS maximum (then the tie rule
-- does not apply).
CREATE OR REPLACE TABLE visit_units AS
SELECT b.patient_id, b.service_date,
       coalesce(sum(b.billed) FILTER (WHERE is_timed(b.cpt)), 0)::BIGINT AS billed_timed,
       coalesce(bool_or(is_timed(b.cpt) AND b.billed > p.max_units), false) AS any_over_max,
       max(p.pool_units) AS pool_units
FROM billed_code b
LEFT JOIN cms_pool p USING (patient_id, service_date, cpt)
GROUP BY b.patient_id, b.service_date;

---------------------------------------------------------------------------------------------------
-- 6. Duplicates (SPEC §8): same patient, date, procedure and modifier set as an earlier line, where
--    earlier = by claim_id, then line_no as a number, then file order (across claims)
---------------------------------------------------------------------------------------------------
CREATE OR REPLACE TABLE duplicate_line AS
SELECT seq
FROM claims
WHERE len(errors) = 0
QUALIFY row_number() OVER (PARTITION BY patient_id, service_date, cpt, array_to_string(modifiers, ';')
                           ORDER BY claim_id, line_no, seq) > 1;

---------------------------------------------------------------------------------------------------
-- 6b. NCCI PTP conflicts (SPEC §9): a line of an edit's column 2 code, with a line of its column 1 code
--     (a different code) for the same patient, date and rendering_npi in any claim (UNITS_INVALID lines
--     count too); the column 2 line's profile has ncci = true, the edit is in force on the date
--     (effective <= date <= deletion, indicator 9 never), and unless the indicator is 1 and either line
--     carries an NCCI-associated modifier.
---------------------------------------------------------------------------------------------------
CREATE OR REPLACE MACRO ncci_bypass(mods) AS list_has_any(mods, ['59', 'XE', 'XP', 'XS', 'XU',
    'E1', 'E2', 'E3', 'E4', 'FA', 'F1', 'F2', 'F3', 'F4', 'F5', 'F6', 'F7', 'F8', 'F9',
    'TA', 'T1', 'T2', 'T3', 'T4', 'T5', 'T6', 'T7', 'T8', 'T9', 'LT', 'RT', 'LC', 'LD', 'RC', 'LM', 'RI']);

CREATE OR REPLACE TABLE ncci_conflict AS
SELECT DISTINCT c2.seq
FROM claims c2
JOIN payer_profile p ON p.payer_type = c2.payer_type AND p.ncci
JOIN ptp_edit e      ON e.column2 = c2.cpt AND e.indicator <> 9
                    AND e.effective <= c2.service_date AND (e.deletion IS NULL OR c2.service_date <= e.deletion)
JOIN claims c1       ON c1.patient_id = c2.patient_id AND c1.service_date = c2.service_date
                    AND c1.rendering_npi = c2.rendering_npi AND c1.cpt = e.column1
WHERE len(c2.errors) = 0 AND len(c1.errors) = 0 AND c1.cpt <> c2.cpt
  AND NOT (e.indicator = 1 AND (ncci_bypass(c1.modifiers) OR ncci_bypass(c2.modifiers)));

---------------------------------------------------------------------------------------------------
-- 6b. Therapy threshold (SPEC §10; no --state here, so only the batch counts): a running sum per patient,
--     calendar year and bucket (GP or GN: PT/SLP; GO: OT; a line with both counts under PT/SLP) over the
--     well-formed lines of a profile with a KX threshold, in order of service_date, claim_id, line_no
--     (then read order). Lines with other findings count. KX is missing on a line above its year's
--     threshold without KX; the review warning goes on the line where the sum first goes above the
--     review amount (above the highest sum before it, so that a credit line cannot make it pass twice).
---------------------------------------------------------------------------------------------------
CREATE OR REPLACE TABLE therapy AS
WITH t AS (
    SELECT seq, patient_id, year(service_date) AS yr, service_date, claim_id, line_no, payer_type,
           CASE WHEN list_has_any(modifiers, ['GP', 'GN']) THEN 'PT/SLP'
                WHEN list_contains(modifiers, 'GO') THEN 'OT' END AS bucket,
           charge::DECIMAL(18, 6) AS amount,
           list_contains(modifiers, 'KX') AS has_kx
    FROM claims
    WHERE len(errors) = 0 AND payer_type IN (SELECT payer_type FROM kx_threshold)
), s AS (
    SELECT *, sum(amount) OVER (PARTITION BY patient_id, yr, bucket
                                ORDER BY service_date, claim_id, line_no, seq ROWS UNBOUNDED PRECEDING) AS after
    FROM t WHERE bucket IS NOT NULL
), r AS (
    SELECT *, coalesce(max(after) OVER (PARTITION BY patient_id, yr, bucket
                                        ORDER BY service_date, claim_id, line_no, seq
                                        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS peak_before
    FROM s
)
SELECT r.seq,
       coalesce(r.after > k.amount AND NOT r.has_kx, false) AS kx_missing,
       coalesce(r.peak_before <= v.amount AND r.after > v.amount, false) AS review_first
FROM r
LEFT JOIN kx_threshold k ON k.payer_type = r.payer_type AND k.yr = r.yr   -- a year not listed: not checked
LEFT JOIN kx_review v    ON v.payer_type = r.payer_type;

---------------------------------------------------------------------------------------------------
-- 7. One row per well-formed line with everything the rules read
---------------------------------------------------------------------------------------------------
CREATE OR REPLACE TABLE line_facts AS
SELECT c.seq, c.claim_id, c.line_no, c.patient_id, c.service_date, c.cpt, c.units, c.modifiers, c.dx_codes,
       c.unit_rule, c.required_modifiers, c.required_any,
       r.doc_seq, r.link_rule,
       d.minutes IS NOT NULL AS has_session, d.minutes, d.modalities, d.pressure_rank,
       x.any_invalid, x.any_unknown, x.any_header, x.set_unavailable, x.billable_keys,
       rx.dx_keys AS rx_keys, rx.allowed_cpt, rx.required_modality,
       pressure_rank(rx.max_pressure) AS max_pressure_rank,
       rv.visit_number, rv.visit_in_week, rv.authorized_sessions, rv.frequency_per_week,
       b.billed, p.full_units, p.max_units, vu.billed_timed, vu.pool_units, vu.any_over_max, m.mue_limit,
       dl.seq IS NOT NULL AS is_duplicate, nc.seq IS NOT NULL AS is_ncci_conflict,
       coalesce(th.kx_missing, false) AS kx_missing, coalesce(th.review_first, false) AS review_first
FROM claims c
LEFT JOIN line_rx r        ON r.seq = c.seq
LEFT JOIN documented d     ON d.patient_id = c.patient_id AND d.service_date = c.service_date AND d.cpt = c.cpt
LEFT JOIN line_dx x        ON x.seq = c.seq
LEFT JOIN docs rx          ON rx.doc_seq = r.doc_seq
LEFT JOIN rx_visit rv      ON rv.doc_seq = r.doc_seq AND rv.service_date = c.service_date
LEFT JOIN billed_code b    ON b.patient_id = c.patient_id AND b.service_date = c.service_date AND b.cpt = c.cpt
LEFT JOIN cms_pool p       ON p.patient_id = c.patient_id AND p.service_date = c.service_date AND p.cpt = c.cpt
LEFT JOIN visit_units vu   ON vu.patient_id = c.patient_id AND vu.service_date = c.service_date
LEFT JOIN mue m            ON m.cpt = c.cpt
LEFT JOIN duplicate_line dl ON dl.seq = c.seq
LEFT JOIN ncci_conflict nc  ON nc.seq = c.seq
LEFT JOIN therapy th        ON th.seq = c.seq
WHERE len(c.errors) = 0;

---------------------------------------------------------------------------------------------------
-- 8. Findings (SPEC §5), in rejections order: lines as read, then rule id
---------------------------------------------------------------------------------------------------
CREATE OR REPLACE TABLE findings AS
WITH f AS (
    SELECT *, units >= 1 AND has_session AS billed_line, is_timed(cpt) AS timed
    FROM line_facts
), u AS (
    SELECT *,
           billed_line AND CASE
               WHEN NOT timed THEN billed > 1                               -- untimed: 1 unit per visit
               WHEN unit_rule = 'per_code' THEN billed > units_for(minutes)
               ELSE billed > max_units                                      -- cms: over the code's maximum,
                    OR (NOT any_over_max AND billed_timed > pool_units      -- or tied leftovers each took a
                        AND billed > full_units)                            -- remainder unit
           END AS units_over,
           billed_line AND timed AND CASE
               WHEN unit_rule = 'per_code' THEN billed < units_for(minutes)
               ELSE billed_timed < pool_units
           END AS units_under
    FROM f
), rules AS (
    SELECT seq, claim_id, line_no, list_filter([
        CASE WHEN len(dx_codes) = 0 THEN 'DX_MISSING' END,
        CASE WHEN any_invalid THEN 'DX_INVALID_FORMAT' END,
        CASE WHEN any_unknown THEN 'DX_UNKNOWN' END,
        CASE WHEN any_header THEN 'DX_NOT_BILLABLE' END,
        CASE WHEN set_unavailable THEN 'DX_CODESET_UNAVAILABLE' END,
        -- WELLNESS_ONLY and DX_NOT_ON_RX judge only the codes billable on the date
        CASE WHEN len(billable_keys) > 0
                  AND list_bool_and(list_transform(billable_keys, lambda k:
                          list_bool_or(list_transform(w.prefixes, lambda p: starts_with(k, p)))))
             THEN 'WELLNESS_ONLY' END,
        CASE WHEN doc_seq IS NOT NULL AND len(billable_keys) > 0
                  AND NOT list_bool_or(list_transform(billable_keys, lambda k:
                          list_bool_or(list_transform(rx_keys, lambda p: starts_with(k, p)))))
             THEN 'DX_NOT_ON_RX' END,
        link_rule,                     -- RX_MISSING / RX_NOT_FOUND / RX_NOT_A_PRESCRIPTION / RX_BEFORE_START / RX_EXPIRED
        CASE WHEN visit_number > authorized_sessions THEN 'RX_SESSIONS_EXCEEDED' END,
        CASE WHEN visit_in_week > frequency_per_week THEN 'RX_FREQUENCY_EXCEEDED' END,
        CASE WHEN doc_seq IS NOT NULL AND NOT list_contains(allowed_cpt, cpt) THEN 'RX_CPT_NOT_ALLOWED' END,
        CASE WHEN NOT has_session THEN 'SESSION_MISSING' END,
        CASE WHEN has_session AND doc_seq IS NOT NULL AND required_modality IS NOT NULL
                  AND len(list_filter(modalities, lambda m: m <> required_modality)) > 0
             THEN 'RX_MODALITY_MISMATCH' END,
        CASE WHEN has_session AND doc_seq IS NOT NULL AND pressure_rank > max_pressure_rank
             THEN 'RX_PRESSURE_CONTRAINDICATED' END,
        CASE WHEN units < 1 THEN 'UNITS_INVALID' END,
        CASE WHEN units_over THEN 'UNITS_OVER_DOCUMENTED' END,
        CASE WHEN units_under THEN 'UNITS_UNDER_DOCUMENTED' END,
        CASE WHEN billed_line AND billed > mue_limit THEN 'UNITS_OVER_MUE' END,
        CASE WHEN len(required_modifiers) > 0 AND is_physical_medicine(cpt)
                  AND NOT CASE WHEN required_any THEN list_has_any(modifiers, required_modifiers)
                               ELSE list_has_all(modifiers, required_modifiers) END
             THEN 'MODIFIER_MISSING' END,
        CASE WHEN is_duplicate THEN 'DUPLICATE_LINE' END,
        CASE WHEN is_ncci_conflict THEN 'NCCI_PTP_CONFLICT' END,
        CASE WHEN kx_missing THEN 'KX_MODIFIER_MISSING' END,
        CASE WHEN review_first THEN 'THERAPY_REVIEW_THRESHOLD' END
    ], lambda r: r IS NOT NULL) AS rules
    FROM u, wellness w
)
SELECT seq, claim_id, line_no, unnest(rules) AS rule
FROM rules
ORDER BY seq, rule;

---------------------------------------------------------------------------------------------------
-- 9. Holding (SPEC §6): by claim (default) or by line; MALFORMED_LINE last
---------------------------------------------------------------------------------------------------
CREATE OR REPLACE TABLE line_hold AS
WITH reject AS (
    SELECT seq, claim_id, rule FROM findings
    WHERE rule NOT IN ('DX_CODESET_UNAVAILABLE', 'UNITS_UNDER_DOCUMENTED', 'THERAPY_REVIEW_THRESHOLD')  -- warnings
), claim_rules AS (
    SELECT claim_id, list_sort(list_distinct(list(rule))) AS rules FROM reject GROUP BY claim_id
), line_rules AS (
    SELECT seq, list_sort(list_distinct(list(rule))) AS rules FROM reject GROUP BY seq
)
SELECT c.seq,
       nullif(array_to_string(
           coalesce(CASE WHEN '${HOLD}' = 'line' THEN lr.rules ELSE cr.rules END, []::VARCHAR[])
           || CASE WHEN mc.claim_id IS NOT NULL THEN ['MALFORMED_LINE'] ELSE []::VARCHAR[] END,
           ';'), '') AS hold_rules
FROM claims c
LEFT JOIN claim_rules cr     ON cr.claim_id = c.claim_id
LEFT JOIN line_rules lr      ON lr.seq = c.seq
LEFT JOIN malformed_claim mc ON mc.claim_id = c.claim_id
WHERE len(c.errors) = 0;

---------------------------------------------------------------------------------------------------
-- 10. Outputs
---------------------------------------------------------------------------------------------------
COPY (SELECT sheet_safe(claim_id) AS claim_id, line_no, rule FROM findings ORDER BY seq, rule)
TO '${OUT}/findings.csv' (FORMAT csv, HEADER true);

-- clean / held keep every input column, in place, with the header as written (values as read).
CREATE OR REPLACE TABLE claims_header AS
SELECT * FROM read_csv('${CLAIMS}', header = false, all_varchar = true, delim = ',', quote = '"',
                       escape = '"', ignore_errors = true)
LIMIT 1;

COPY (
    SELECT * EXCLUDE (ord) FROM (
        SELECT -1 AS ord, * FROM claims_header
        UNION ALL
        SELECT r.rowid, r.* FROM claims_raw r JOIN line_hold h ON h.seq = r.rowid
        WHERE h.hold_rules IS NULL
    ) ORDER BY ord
) TO '${OUT}/clean.csv' (FORMAT csv, HEADER false);

COPY (
    SELECT * EXCLUDE (ord) FROM (
        SELECT -1 AS ord, *, 'hold_rules' FROM claims_header
        UNION ALL
        SELECT r.rowid, r.*, h.hold_rules FROM claims_raw r JOIN line_hold h ON h.seq = r.rowid
        WHERE h.hold_rules IS NOT NULL
    ) ORDER BY ord
) TO '${OUT}/held.csv' (FORMAT csv, HEADER false);

-- Simplified malformed.csv: input, key of the row (claim_id / session_id / rx_id) and the reasons.
COPY (
    SELECT file, key, error FROM (
        SELECT 1 AS f, seq AS ord, 'claims' AS file, claim_id AS key, array_to_string(errors, '; ') AS error
        FROM claims WHERE len(errors) > 0
        UNION ALL
        SELECT 2, seq, 'sessions', session_id, array_to_string(errors, '; ') FROM sessions WHERE len(errors) > 0
        UNION ALL
        SELECT 3, seq, 'prescriptions', rx_id, array_to_string(errors, '; ') FROM prescriptions WHERE len(errors) > 0
        UNION ALL
        SELECT 1, -1, 'claims', NULL, 'line ' || line || ': ' || any_value(error_message) FROM claims_rejects GROUP BY line
        UNION ALL
        SELECT 2, -1, 'sessions', NULL, 'line ' || line || ': ' || any_value(error_message) FROM sessions_rejects GROUP BY line
        UNION ALL
        SELECT 3, -1, 'prescriptions', NULL, 'line ' || line || ': ' || any_value(error_message) FROM prescriptions_rejects GROUP BY line
    ) ORDER BY f, ord, error
) TO '${OUT}/malformed.csv' (FORMAT csv, HEADER true);
