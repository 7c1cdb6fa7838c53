"""The department source tables the trust reads in place: one source of truth for their schemas.

The synthetic generator writes exactly these schemas, the Dagster observable sources take their descriptions and
column schemas from here, the catalogue and docs/data.md describe them from here, and the audit compares what a
department actually shares against them (a renamed, dropped or retyped column is a structural failure).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    description: str
    nullable: bool = True


@dataclass(frozen=True)
class SourceTable:
    dept: str
    table: str
    title: str
    description: str
    owner: str
    columns: tuple[Column, ...]
    #: Columns whose values say which months a commit touched (min/max statistics in the Delta log).
    month_columns: tuple[str, ...] = field(default=())

    @property
    def key(self) -> str:
        """``dept/table``, the name used in agreements, asset keys and lineage."""
        return f"{self.dept}/{self.table}"

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.type, nullable=c.nullable) for c in self.columns])


DEPARTMENTS: dict[str, str] = {
    "dwp": "Department for Work and Pensions",
    "hmrc": "HM Revenue and Customs",
    "dfe": "Department for Education",
    "beis": "Department for Business, Energy and Industrial Strategy",
}

UC_CLAIMS = SourceTable(
    dept="dwp",
    table="uc_claims",
    title="Universal Credit claimants (monthly stock)",
    description="One row per person on Universal Credit in a month, as counted at the monthly stock date.",
    owner="team:dwp-data",
    month_columns=("month",),
    columns=(
        Column("person_id", pa.string(), "Pseudonymous person id, consistent across DWP, HMRC and DfE."),
        Column("month", pa.date32(), "First day of the month of the stock count."),
        Column("residence_la_code", pa.string(), "GSS code of the local authority district of residence."),
        Column("age_band", pa.string(), "Age band: 16-24, 25-34, 35-49, 50-64, 65+."),
        Column("sex", pa.string(), "F or M."),
        Column("disability", pa.bool_(), "Has a health condition or disability that limits work."),
        Column("conditionality_regime", pa.string(),
               "searching_for_work, working_with_requirements, no_work_requirements, planning_for_work, "
               "preparing_for_work, working_no_requirements."),
        Column("claim_start_date", pa.date32(), "Date the current Universal Credit claim started."),
    ),
)

PAYE_EMPLOYMENTS = SourceTable(
    dept="hmrc",
    table="paye_employments",
    title="PAYE Real Time Information employments (monthly)",
    description="One row per payrolled employment per month, from employers' Real Time Information returns.",
    owner="team:hmrc-data",
    month_columns=("month",),
    columns=(
        Column("person_id", pa.string(), "Pseudonymous person id, consistent across DWP, HMRC and DfE."),
        Column("employer_id", pa.string(), "Pseudonymous PAYE reference of the employer; links to BEIS."),
        Column("month", pa.date32(), "First day of the month the pay relates to."),
        Column("pay_gbp", pa.float64(), "Gross pay in the month, pounds."),
        Column("residence_la_code", pa.string(), "GSS code of the employee's district of residence."),
        Column("employment_start_date", pa.date32(), "Date this employment started."),
    ),
)

FE_LEARNER_AIMS = SourceTable(
    dept="dfe",
    table="fe_learner_aims",
    title="Further education and skills learner aims",
    description="One row per learning aim from the Individualised Learner Record; outcomes update as aims end.",
    owner="team:dfe-data",
    month_columns=("start_date", "actual_end_date"),
    columns=(
        Column("person_id", pa.string(), "Pseudonymous person id, consistent across DWP, HMRC and DfE."),
        Column("aim_id", pa.string(), "Identifier of the learning aim record."),
        Column("start_date", pa.date32(), "Date the learner started the aim."),
        Column("planned_end_date", pa.date32(), "Date the aim was planned to end."),
        Column("actual_end_date", pa.date32(), "Date the aim actually ended; null while continuing."),
        Column("outcome", pa.string(), "continuing, completed, achieved or withdrawn."),
        Column("ssa_tier1", pa.int32(), "Sector subject area, tier 1 (1-15)."),
        Column("level", pa.string(), "Notional level: entry, 1, 2, 3, 4+."),
        Column("residence_la_code", pa.string(), "GSS code of the learner's district of residence."),
        Column("nsf_funded", pa.bool_(), "Funded as a National Skills Fund free course."),
    ),
)

BUSINESS_REGISTER = SourceTable(
    dept="beis",
    table="business_register",
    title="Business register (employing and non-employing businesses)",
    description="One row per business with its industry, workplace district, size band, birth and death dates.",
    owner="team:beis-data",
    month_columns=("birth_date", "death_date"),
    columns=(
        Column("employer_id", pa.string(), "Pseudonymous PAYE reference; null for non-employing businesses."),
        Column("sic_section", pa.string(), "SIC 2007 section letter (A-U)."),
        Column("sic_division", pa.string(), "SIC 2007 two-digit division."),
        Column("workplace_la_code", pa.string(), "GSS code of the district of the main workplace."),
        Column("size_band", pa.string(), "Employment size band: 0, 1-9, 10-49, 50-249, 250+."),
        Column("birth_date", pa.date32(), "Date the business started trading."),
        Column("death_date", pa.date32(), "Date the business ceased; null while alive."),
    ),
)

SOURCE_TABLES: tuple[SourceTable, ...] = (UC_CLAIMS, PAYE_EMPLOYMENTS, FE_LEARNER_AIMS, BUSINESS_REGISTER)


def source_table(key: str) -> SourceTable:
    """Look up ``dept/table``; the error names the known tables."""
    for table in SOURCE_TABLES:
        if table.key == key:
            return table
    known = ", ".join(t.key for t in SOURCE_TABLES)
    raise KeyError(f"unknown source table {key!r}; known: {known}")
