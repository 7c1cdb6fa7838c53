{{ config(materialized='table') }}
{#-
  PAYE employment-month rows screened by the source row rules: one row per distinct source row, `copies` of it in
  the source, its residence conformed, and `row_rule_reason`, the rule failure that excludes it (null: kept).
  Precedence: null_person_id, null_employer_id, month_not_month_start, negative_pay (an error in the source;
  zero pay is kept and means not paid that month), start_after_month (employment started after the pay month),
  then the residence district. Differing rows for one person, employer and month that pass the rest are KEPT
  (counted as same_key_summed in conformance_exclusions): they are two employments with one employer (the source has no
  employment id; a second job or a payroll change), and the products sum a person's pay over their records, so
  keeping them is summing them. A negative-pay row beside a valid row for the same key is excluded alone: the
  valid row stays. Filter on `month` to prune.
-#}
with

employments as (

    select * from {{ ref('stg_hmrc__paye_employments') }}
    -- only the months this run reads: the built months and the outcome cohorts' follow-ups (+3/+6)
    where {{ trust_in_read_months('month', follow_ups=true) }}

),

districts as (

    select * from {{ ref('int_district_codes_conformed') }}

),

distinct_rows as (

    select
        person_id,
        employer_id,
        month,
        pay_gbp,
        residence_la_code,
        employment_start_date,
        count(*) as copies
    from employments
    group by person_id, employer_id, month, pay_gbp, residence_la_code, employment_start_date

),

checked as (

    select
        e.*,
        d.local_authority_code as residence_local_authority_code,
        d.region as residence_region,
        {{ trust_district_conformance('e.residence_la_code', 'd') }} as district_conformance,
        {{ trust_first_failure([
            ("'null_person_id'", "e.person_id is null"),
            ("'null_employer_id'", "e.employer_id is null or e.employer_id = ''"),
            ("'month_not_month_start'", "e.month <> " ~ trust_month_of('e.month')),
            ("'negative_pay'", "e.pay_gbp < 0"),
            ("'start_after_month'",
             "e.employment_start_date >= " ~ trust_months_after(trust_month_of('e.month'), 1)),
            (trust_district_conformance('e.residence_la_code', 'd'), "d.local_authority_code is null"),
        ]) }} as row_failure
    from distinct_rows as e
    left join districts as d
        on e.residence_la_code = d.district_code

),

screened as (

    {#- conflicts='keep': no window over the key; PAYE's key (month, person_id, employer_id) is owned by
        conformance_exclusions (summed_key), which counts the kept rows sharing it -#}
    {{ trust_screen_versions('checked', conflicts='keep') }}

),

final as (

    select
        person_id,
        employer_id,
        month,
        pay_gbp,
        residence_la_code,
        employment_start_date,
        copies,
        residence_local_authority_code,
        residence_region,
        district_conformance,
        row_rule_reason
    from screened

)

select * from final
