import duckdb, sys
src, dst = sys.argv[1], sys.argv[2]
con = duckdb.connect()
for n in ["claims", "sessions", "prescriptions"]:
    con.execute(f"COPY (SELECT * FROM read_csv('{src}/{n}.csv', all_varchar=true, header=true)) TO '{dst}/{n}.parquet' (FORMAT parquet, ROW_GROUP_SIZE 1000000)")
    print(n, flush=True)
