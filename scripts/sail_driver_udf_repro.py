"""Minimal reproducer of the Sail bug the Spark target works around (spark__create_table_as, dbt_project/macros/
cross_db/relations.sql): in local-cluster mode, a Delta write whose query has a single partition fails with
"ExtendedScalarUdf: no UDF found for upper" whenever the query calls a DataFusion built-in function.

    bash scripts/services.sh start spark --mode local-cluster --workers 2     # prints sc://127.0.0.1:PORT
    .venv/bin/python scripts/sail_driver_udf_repro.py sc://127.0.0.1:PORT
    bash scripts/services.sh stop spark

Why (read in lakehq/sail v0.7.0, seen on pysail 0.7.2): the job graph planner places a DeltaCommitExec on the driver
(sail-execution job_graph/planner.rs, create_driver_stage) together with everything under it down to the first
shuffle. The driver decodes that stage (task_runner/core.rs, decode_remote_physical_plan) with the Spark session's
TaskContext, and the server session is built without DataFusion's default functions (sail-session
session_factory/server.rs: "We do not add default features"); the codec writes no buffer for a DataFusion built-in
(proto/codec.rs try_encode_udf: `return Ok(())`), so decoding looks the name up in that empty registry and falls
back to try_decode_udf(name, &[]) -> "no UDF found". Workers' sessions have the functions, so the same function
works wherever a shuffle puts it on a worker: a multi-file source, a join, an insert whose NOT NULL check adds a
filter, or the always-true `rand() >= 0` filter the project's workaround adds (DataFusion repartitions the scan
under the filter). Not intermittent: it follows the plan's shape, which follows the source's file count.
"""

from __future__ import annotations

import sys
import tempfile


def main(remote: str) -> int:
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.remote(remote).getOrCreate()
    folder = tempfile.mkdtemp(prefix="sail-driver-udf-")

    def outcome(sql: str) -> str:
        try:
            spark.sql(sql).collect()
        except Exception as exc:  # the server's error, whatever its class
            return "FAIL " + str(exc).splitlines()[0][:160]
        return "ok"

    # one VALUES partition -> a one-file Delta table -> a one-partition scan
    spark.sql(f"create table src using delta location '{folder}/src' "
              "as select x from values ('a'), ('b') as t(x)").collect()
    shapes = {
        "select upper(x) (no write)": "select upper(x) from src",
        "CTAS x (no function)": f"create table t1 using delta location '{folder}/t1' as select x from src",
        "CTAS upper(x)": f"create table t2 using delta location '{folder}/t2' as select upper(x) as u from src",
        "CTAS lower(x)": f"create table t3 using delta location '{folder}/t3' as select lower(x) as u from src",
        "CTAS trim(x)": f"create table t4 using delta location '{folder}/t4' as select trim(x) as u from src",
        "CTAS upper(x), REPARTITION hint": f"create table t5 using delta location '{folder}/t5' "
                                           "as select /*+ REPARTITION(2) */ upper(x) as u from src",
        "CTAS upper(x) behind where rand() >= 0": f"create table t6 using delta location '{folder}/t6' "
                                                   "as select * from (select upper(x) as u from src) "
                                                   "where rand() >= 0",
    }
    for label, sql in shapes.items():
        print(f"{label:42} {outcome(sql)}")
    plan = spark.sql("explain create table t7 using delta location "
                     f"'{folder}/t7' as select upper(x) as u from src").collect()[0][0]
    print("\nthe failing write's physical plan (no shuffle under DeltaCommitExec, so it all runs on the driver):")
    print(plan.split("== Physical Plan ==")[-1].strip())
    spark.stop()
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} sc://HOST:PORT")
    sys.exit(main(sys.argv[1]))
