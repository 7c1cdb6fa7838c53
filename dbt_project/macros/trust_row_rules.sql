{#
  Source row rules: which rows of a department table are excluded, why, and when too many of them block the run.

  The policy is one var, `trust_row_rules` in dbt_project.yml (overridable with --vars, like any var):
    max_excluded_share          share of a built month's source rows a rule may exclude (default 0.01). At or
                                below it the rows are excluded, counted in conformance_exclusions and reported by
                                a warn-severity test; above it the rule's error-severity test fails the build.
    max_excluded_share_by_rule  per-rule overrides, e.g. {no_duplicates: 0.02}.
    min_excluded_rows_to_block  a rule never blocks on fewer excluded rows than this in a month (default 10): a
                                handful of bad rows in a tiny month is noise, not a broken feed.
  The screening itself is in the int_*_screened views (one row per distinct source row, with `copies` and
  `row_rule_reason`); these macros turn it into counts and shares. See docs/quality.md, "Source row rules".
#}

{% macro trust_row_rules() -%}
  {#- rule -> the reasons (conformance_exclusions.reason) it excludes rows for. The one place they are mapped. -#}
  {{ return({
      'ids_not_null': ['null_person_id', 'null_employer_id'],
      'district_conformable': ['missing_code', 'unknown_code', 'not_a_district', 'no_successor'],
      'pay_not_negative': ['negative_pay'],
      'no_duplicates': ['duplicate_row', 'conflicting_duplicate'],
      'months_in_range': ['month_not_month_start', 'start_after_month', 'end_before_start'],
  }) }}
{%- endmacro %}


{% macro trust_row_rule_policy() -%}
  {#- The validated policy var, defaults filled in; a bad value fails compilation with a message naming it. -#}
  {%- set given = var('trust_row_rules', {}) or {} -%}
  {%- if given is not mapping -%}
    {{ exceptions.raise_compiler_error("var trust_row_rules must be a mapping, got " ~ given) }}
  {%- endif -%}
  {%- set known_keys = ['max_excluded_share', 'max_excluded_share_by_rule', 'min_excluded_rows_to_block'] -%}
  {%- for key in given -%}
    {%- if key not in known_keys -%}
      {{ exceptions.raise_compiler_error("var trust_row_rules has unknown key '" ~ key ~ "'; known: "
          ~ known_keys | join(', ')) }}
    {%- endif -%}
  {%- endfor -%}
  {%- set policy = {
      'max_excluded_share': given.get('max_excluded_share', 0.01),
      'max_excluded_share_by_rule': given.get('max_excluded_share_by_rule', {}) or {},
      'min_excluded_rows_to_block': given.get('min_excluded_rows_to_block', 10),
  } -%}
  {%- set shares = [('max_excluded_share', policy.max_excluded_share)] -%}
  {%- for rule, share in policy.max_excluded_share_by_rule.items() -%}
    {%- if rule not in trust_row_rules() -%}
      {{ exceptions.raise_compiler_error("var trust_row_rules.max_excluded_share_by_rule names unknown rule '"
          ~ rule ~ "'; rules: " ~ trust_row_rules().keys() | list | join(', ')) }}
    {%- endif -%}
    {%- do shares.append(('max_excluded_share_by_rule.' ~ rule, share)) -%}
  {%- endfor -%}
  {%- for name, share in shares -%}
    {%- if share is not number or share < 0 or share > 1 -%}
      {{ exceptions.raise_compiler_error("var trust_row_rules." ~ name ~ " must be a share in [0, 1], got "
          ~ share) }}
    {%- endif -%}
  {%- endfor -%}
  {%- if policy.min_excluded_rows_to_block is not number or policy.min_excluded_rows_to_block < 0 -%}
    {{ exceptions.raise_compiler_error("var trust_row_rules.min_excluded_rows_to_block must be a row count >= 0, "
        ~ "got " ~ policy.min_excluded_rows_to_block) }}
  {%- endif -%}
  {{ return(policy) }}
{%- endmacro %}


{% macro trust_row_rule_limit(rule) -%}
  {%- if rule not in trust_row_rules() -%}
    {{ exceptions.raise_compiler_error("unknown row rule '" ~ rule ~ "'; rules: "
        ~ trust_row_rules().keys() | list | join(', ')) }}
  {%- endif -%}
  {%- set policy = trust_row_rule_policy() -%}
  {{ return(policy.max_excluded_share_by_rule.get(rule, policy.max_excluded_share)) }}
{%- endmacro %}


{% macro trust_rule_of_reason(reason_expression) -%}
  {#- SQL: the rule a reason belongs to (null for a reason no rule owns). -#}
  case
    {%- for rule, reasons in trust_row_rules().items() %}
    when {{ reason_expression }} in ('{{ reasons | join("', '") }}') then '{{ rule }}'
    {%- endfor %}
  end
{%- endmacro %}


{% macro trust_first_failure(checks) -%}
  {#- SQL: the reason of the first (reason, condition) pair whose condition holds, else null. Order is precedence:
      a row failing several rules is excluded, and counted, once. -#}
  case
    {%- for reason, condition in checks %}
    when {{ condition }} then {{ reason }}
    {%- endfor %}
  end
{%- endmacro %}


{% macro trust_screen_versions(rows_cte, key_columns=none, conflicts='exclude') -%}
  {#- SQL select over `rows_cte` (distinct rows with `row_failure`) adding `row_rule_reason`. With
      conflicts='exclude' it also adds `key_versions`, how many differing rows that pass every other rule share the
      row's key, and such rows are all conflicting_duplicate (neither version is trusted). With conflicts='keep'
      they stay (PAYE: two employments with one employer, whose pay the products sum) and no window is computed:
      it was 23 of PAYE's 31 s of screening at national scale, for a count trust_row_rule_counts (summed_key)
      makes with a group-by instead, so the key of a 'keep' source has one owner: the `summed_key` argument in
      conformance_exclusions, and passing key_columns here is an error. The key columns lead the window's
      partition, so a filter on them (e.g. the month) still prunes the scan. -#}
  {%- if conflicts not in ['exclude', 'keep'] -%}
    {{ exceptions.raise_compiler_error("trust_screen_versions: conflicts must be 'exclude' or 'keep', got "
        ~ conflicts) }}
  {%- elif conflicts == 'exclude' and not key_columns -%}
    {{ exceptions.raise_compiler_error("trust_screen_versions: conflicts='exclude' needs key_columns "
        ~ "(the columns two versions of one row share)") }}
  {%- elif conflicts == 'keep' and key_columns -%}
    {{ exceptions.raise_compiler_error("trust_screen_versions: conflicts='keep' computes no key, so key_columns "
        ~ "are not used; the rows sharing a key are counted by trust_row_rule_counts(summed_key=...) in "
        ~ "conformance_exclusions, which owns the key") }}
  {%- endif -%}
  {%- if conflicts == 'keep' %}
    select
        *,
        row_failure as row_rule_reason
    from {{ rows_cte }}
  {%- else %}
    select
        *,
        coalesce(row_failure, case when key_versions > 1 then 'conflicting_duplicate' end) as row_rule_reason
    from (
        select
            *,
            case when row_failure is null
                then sum(case when row_failure is null then 1 else 0 end)
                    over (partition by {{ key_columns | join(', ') }})
            end as key_versions
        from {{ rows_cte }}
    ) as versioned
  {%- endif %}
{%- endmacro %}


{% macro trust_row_rule_counts(screened_model, source_key, basis_column, code_column, where='1 = 1',
                               basis_label=none, summed_key=none) -%}
  {#-
    Rows of (month, source_key, row_basis, reason, recorded_code, is_excluded, affected_rows) for the built months,
    from a screened view: rows excluded by a row rule (every copy; recorded_code is the district for district
    reasons), extra copies of kept rows (duplicate_row), kept rows whose district was recoded and, with
    `summed_key` (the key columns of a source screened with conflicts='keep': PAYE), kept rows that share their key
    with a differing kept row (same_key_summed), the last two not excluded. Sources screened with
    conflicts='exclude' have no such rows: differing rows for one key are conflicting_duplicate.
  -#}
  {%- set district_reasons = trust_row_rules()['district_conformable'] -%}
    select
        {{ trust_month_of(basis_column) }} as month,
        '{{ source_key }}' as source_key,
        '{{ basis_label or basis_column }}' as row_basis,
        coalesce(row_rule_reason, 'duplicate_row') as reason,
        case when row_rule_reason in ('{{ district_reasons | join("', '") }}') then {{ code_column }} end
            as recorded_code,
        true as is_excluded,
        sum(case when row_rule_reason is null then copies - 1 else copies end) as affected_rows
    from {{ ref(screened_model) }}
    where {{ trust_in_build_months(basis_column) }}
        and (row_rule_reason is not null or copies > 1)
        and {{ where }}
    group by 1, 2, 3, 4, 5

    union all

    select
        {{ trust_month_of(basis_column) }} as month,
        '{{ source_key }}' as source_key,
        '{{ basis_label or basis_column }}' as row_basis,
        district_conformance as reason,
        {{ code_column }} as recorded_code,
        false as is_excluded,
        count(*) as affected_rows
    from {{ ref(screened_model) }}
    where {{ trust_in_build_months(basis_column) }}
        and row_rule_reason is null
        and district_conformance <> 'current'
        and {{ where }}
    group by 1, 2, 3, 4, 5

    {%- if summed_key %}

    union all

    select
        {{ trust_month_of(basis_column) }} as month,
        '{{ source_key }}' as source_key,
        '{{ basis_label or basis_column }}' as row_basis,
        'same_key_summed' as reason,
        cast(null as {{ dbt.type_string() }}) as recorded_code,
        false as is_excluded,
        sum(key_rows) as affected_rows
    from (
        select
            {{ summed_key | join(', ') }},
            count(*) as key_rows
        from {{ ref(screened_model) }}
        where {{ trust_in_build_months(basis_column) }}
            and row_rule_reason is null
            and {{ where }}
        group by {{ summed_key | join(', ') }}
        having count(*) > 1
    ) as shared_keys
    group by 1, 2, 3, 4, 5
    {%- endif %}
{%- endmacro %}


{% macro trust_row_rule_shares(screened, basis_column, follow_ups=false) -%}
  {#-
    SQL: per month read and rule, the month's source rows (every copy), the rows the rule excluded, their share,
    the policy's limit and whether the rule blocks. `screened` is a relation (a ref). The months are the built
    ones and, with follow_ups (payroll), the outcome cohorts' follow-up months: a run for a cohort reads those
    months' rows, so they are checked with the same policy. Months with no rows at all are absent (the
    structural volume check blocks those).
  -#}
  {%- set policy = trust_row_rule_policy() -%}
  {%- set rules = trust_row_rules() -%}
  with

  screened_rows as (

      select
          {{ trust_month_of(basis_column) }} as month,
          row_rule_reason,
          copies
      from {{ screened }}
      where {{ trust_in_read_months(basis_column, follow_ups) }}

  ),

  month_rows as (

      select month, sum(copies) as month_rows
      from screened_rows
      group by month

  ),

  excluded as (

      select
          month,
          {{ trust_rule_of_reason("coalesce(row_rule_reason, 'duplicate_row')") }} as rule,
          sum(case when row_rule_reason is null then copies - 1 else copies end) as excluded_rows
      from screened_rows
      where row_rule_reason is not null or copies > 1
      group by 1, 2

  ),

  limits as (

      {%- for rule in rules %}
      select '{{ rule }}' as rule, cast({{ trust_row_rule_limit(rule) }} as double) as max_excluded_share
      {{ "union all" if not loop.last }}
      {%- endfor %}

  ),

  final as (

      select
          m.month,
          l.rule,
          m.month_rows,
          coalesce(e.excluded_rows, 0) as excluded_rows,
          coalesce(e.excluded_rows, 0) / cast(m.month_rows as double) as excluded_share,
          l.max_excluded_share,
          coalesce(e.excluded_rows, 0) > l.max_excluded_share * m.month_rows
              and coalesce(e.excluded_rows, 0) >= {{ policy.min_excluded_rows_to_block }} as blocks
      from month_rows as m
      cross join limits as l
      left join excluded as e
          on m.month = e.month and l.rule = e.rule

  )

  select * from final
{%- endmacro %}
