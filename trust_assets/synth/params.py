"""Every number that shapes the synthetic labour market, in one place so docs/data.md can quote them.

Rates are monthly probabilities unless said otherwise. They are rough public-statistics shapes (UK employment rate
near 60% of the 16+ population, about 1 in 7 people on Universal Credit, a third of claimants in work, business
births and deaths near 10% a year), tuned so the stocks stay roughly stable over a year of simulated months.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

AGE_BANDS = ("16-24", "25-34", "35-49", "50-64", "65+")
AGE_SHARE = np.array([0.14, 0.20, 0.28, 0.27, 0.11])
DISABILITY_RATE = np.array([0.10, 0.13, 0.17, 0.25, 0.30])
FEMALE_SHARE = 0.51

REGIMES = ("searching_for_work", "working_with_requirements", "no_work_requirements", "planning_for_work",
           "preparing_for_work", "working_no_requirements")
SEARCHING, WORKING_WITH, NO_WORK_REQ, PLANNING, PREPARING, WORKING_NO = range(6)
NOT_CLAIMING = -1

# --- the population at the start month -------------------------------------------------------------------------
EMPLOYMENT_RATE = np.array([0.52, 0.74, 0.75, 0.63, 0.10])
EMPLOYMENT_FACTOR_DISABLED = 0.60
EMPLOYMENT_FACTOR_NOT_DISABLED = 1.08
SECOND_JOB_SHARE = 0.05
#: P(claiming UC) for people in work / out of work at the start; 65+ are mostly over pension age.
CLAIM_RATE_EMPLOYED = np.array([0.11, 0.10, 0.08, 0.055, 0.01])
CLAIM_RATE_NOT_EMPLOYED = np.array([0.20, 0.32, 0.34, 0.25, 0.015])
CLAIM_FACTOR_DISABLED = 1.5
#: Regime mix of claimants not in work, for people without / with a limiting condition.
REGIME_MIX_NOT_DISABLED = {SEARCHING: 0.50, NO_WORK_REQ: 0.30, PLANNING: 0.10, PREPARING: 0.10}
REGIME_MIX_DISABLED = {SEARCHING: 0.20, NO_WORK_REQ: 0.65, PLANNING: 0.05, PREPARING: 0.10}
#: Working claimants earning below this are in the working_with_requirements regime.
WORKING_WITH_REQUIREMENTS_PAY = 1300.0
TENURE_MEAN_MONTHS = np.array([18, 48, 90, 120, 120])
CLAIM_DURATION_MEAN_MONTHS = 30
UC_LAUNCH = "2013-04-29"

# --- monthly flows -----------------------------------------------------------------------------------------------
JOB_EXIT = np.array([0.024, 0.011, 0.008, 0.010, 0.030])
JOB_EXIT_FACTOR_DISABLED = 1.5
JOB_MOVE = 0.012
#: Workers whose employer dies and who go straight to another job.
REHIRE_ON_EMPLOYER_DEATH = 0.45
SECOND_JOB_ENTRY = 0.0025
SECOND_JOB_EXIT = 0.045
#: Job entry for claimants not in work, by age band, times the regime and disability factors below.
CLAIMANT_ENTRY = np.array([0.080, 0.065, 0.050, 0.030, 0.008])
REGIME_ENTRY_FACTOR = np.array([1.0, 1.0, 0.12, 0.6, 0.45, 1.0])
#: Job entry for people not in work and not claiming (students, carers, the retired: mostly inactive).
OTHER_ENTRY = np.array([0.040, 0.050, 0.032, 0.014, 0.003])
ENTRY_FACTOR_DISABLED = 0.45
#: After an aim ends: achieved or completed learners find work more often, withdrawers less (for 6 months).
COURSE_ENTRY_FACTOR = {1: 1.8, -1: 0.8}
COURSE_EFFECT_MONTHS = 6
STAY_ON_CLAIM_ON_ENTRY = 0.5
CLAIM_ON_JOB_LOSS = 0.35
CLAIM_EXIT_NOT_WORKING = 0.012
CLAIM_EXIT_WORKING = 0.02
NEW_CLAIM_NOT_WORKING = 0.0020
NEW_CLAIM_WORKING = 0.0012
NEW_CLAIM_WORKING_LOW_PAY_FACTOR = 3.0
LOW_PAY = 1500.0
CLAIM_FACTOR_65_PLUS = 0.1
SEARCHING_TO_NO_WORK_REQ = 0.008
PREPARING_TO_SEARCHING = 0.01

# --- pay ---------------------------------------------------------------------------------------------------------
PAY_SIGMA = 0.55
PAY_MONTHLY_NOISE = 0.06
PAY_AGE_FACTOR = np.array([0.65, 1.0, 1.15, 1.10, 0.75])
PAY_FACTOR_FEMALE = 0.82
PAY_FACTOR_DISABLED = 0.90
SECOND_JOB_PAY_FACTOR = 0.45
JOB_MOVE_PAY_FACTOR = 1.05


@dataclass(frozen=True)
class Sector:
    section: str
    #: share of employers in this section
    employer_share: float
    #: how much bigger than average its employers are (so job shares differ from business counts)
    size_factor: float
    #: median gross monthly pay, pounds
    median_pay: float


SECTORS = (
    Sector("A", 0.040, 0.5, 1800), Sector("B", 0.001, 3.0, 3300), Sector("C", 0.055, 2.0, 2700),
    Sector("D", 0.003, 4.0, 3500), Sector("E", 0.004, 3.0, 2600), Sector("F", 0.130, 0.6, 2600),
    Sector("G", 0.150, 1.2, 1700), Sector("H", 0.045, 1.5, 2500), Sector("I", 0.075, 1.0, 1000),
    Sector("J", 0.070, 0.7, 3400), Sector("K", 0.025, 2.0, 3500), Sector("L", 0.030, 0.5, 2400),
    Sector("M", 0.140, 0.6, 3000), Sector("N", 0.075, 1.5, 1900), Sector("O", 0.002, 30.0, 2700),
    Sector("P", 0.020, 6.0, 2100), Sector("Q", 0.045, 4.0, 2100), Sector("R", 0.025, 0.8, 1400),
    Sector("S", 0.040, 0.5, 1700), Sector("T", 0.0008, 0.2, 1300), Sector("U", 0.0002, 2.0, 3000),
)

# --- businesses --------------------------------------------------------------------------------------------------
SIZE_BANDS = ("0", "1-9", "10-49", "50-249", "250+")
SIZE_BAND_LOWER = np.array([0, 1, 10, 50, 250])
#: Employer size weights are log-normal: most employers are small, a few employ thousands.
EMPLOYER_WEIGHT_SIGMA = 1.9
NEW_EMPLOYER_WEIGHT_FACTOR = 0.3
#: Share of job hires made by an employer in the person's own district (the rest anywhere, by size).
LOCAL_HIRE_SHARE = 0.75
#: Monthly death probability by size band (index as SIZE_BANDS).
BUSINESS_DEATH = np.array([0.010, 0.009, 0.005, 0.003, 0.001])
EMPLOYER_BIRTH = 0.0080
NON_EMPLOYER_BIRTH = 0.0102
BUSINESS_AGE_MEAN_YEARS = 11.0

# --- further education -------------------------------------------------------------------------------------------
#: Learner starts per person per month before weighting (gives ~2 M aims a year at national scale).
LEARNER_START_RATE = 0.0030
LEARNER_AGE_WEIGHT = np.array([3.0, 1.3, 1.0, 0.6, 0.15])
LEARNER_WEIGHT_CLAIMANT = 2.0
LEARNER_WEIGHT_NOT_EMPLOYED = 1.3
SECOND_AIM_SHARE = 0.25
LEVELS = ("entry", "1", "2", "3", "4+")
LEVEL_SHARE = np.array([0.12, 0.22, 0.33, 0.25, 0.08])
#: Planned length in months, uniform between these bounds, by level; a share of aims are short courses.
LEVEL_MONTHS = np.array([[1, 6], [1, 9], [3, 12], [9, 24], [12, 24]])
SHORT_COURSE_SHARE = 0.35
SHORT_COURSE_MONTHS = (1, 3)
NSF_SHARE_LEVEL_3 = 0.15
NSF_SHARE_OTHER = 0.004
SSA_WEIGHT = np.array([14, 2, 4, 8, 7, 6, 9, 4, 5, 0.5, 2, 3, 4, 22, 10], dtype=float)
WITHDRAWAL_SHARE = 0.15
#: Of aims not withdrawn, the share that end "achieved" (the rest "completed" without the qualification).
ACHIEVED_SHARE = 0.78
OUTCOMES = ("continuing", "completed", "achieved", "withdrawn")
CONTINUING, COMPLETED, ACHIEVED, WITHDRAWN = range(4)
BACKLOG_MONTHS = 24

# --- mess --------------------------------------------------------------------------------------------------------
#: Of people (and businesses) living in a district created in 2019-2023, the share a department still codes to the
#: abolished predecessor district.
LEGACY_CODE_SHARE = 0.30
NULL_PERSON_ID_SHARE = 0.002
DUPLICATE_ROW_SHARE = 0.002
#: Share of a month's employments whose pay is revised by the late correction, and the size of revisions.
CORRECTION_SHARE = 0.02
CORRECTION_SIGMA = 0.15
