"""Exit 0 when the Spark Connect server at argv[1] answers a query (used by services.sh's bounded wait)."""

import sys

from pyspark.sql import SparkSession

spark = SparkSession.builder.remote(sys.argv[1]).getOrCreate()
try:
    sys.exit(0 if spark.sql("select 1 as ok").collect()[0].ok == 1 else 1)
finally:
    spark.stop()
