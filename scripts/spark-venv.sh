#!/usr/bin/env bash
# Makes target/spark-venv: a Python virtual environment with PySpark from PyPI, pinned, for
# deploy/spark/scrub_parts.py and tests/spark.rs. Spark needs Java 17 (`java` on PATH or JAVA_HOME).
set -euo pipefail
cd "$(dirname "$0")/.."
PYSPARK_VERSION=3.5.7
venv=target/spark-venv
if [ -x "$venv/bin/spark-submit" ] &&
    "$venv/bin/python" -c "import pyspark, sys; sys.exit(pyspark.__version__ != '$PYSPARK_VERSION')" 2>/dev/null; then
    echo "$venv: pyspark $PYSPARK_VERSION is there"
    exit 0
fi
if [ -z "${JAVA_HOME:-}" ] && ! command -v java >/dev/null; then
    echo "spark-venv: no java: Spark needs Java 17 (e.g. apt-get install openjdk-17-jre-headless)" >&2
    exit 1
fi
rm -rf "$venv"
mkdir -p target
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "pyspark==$PYSPARK_VERSION"
"$venv/bin/python" -c "import pyspark; print('target/spark-venv: pyspark', pyspark.__version__)"
