#!/usr/bin/env python3
"""Independent claimscrub batch generator, written from SPEC.md / DOMAIN.md alone.

    python3 benches/independent/gen.py --lines N --out DIR [--seed S] [--jobs J] [--expect]

Writes DIR/claims.csv, DIR/sessions.csv, DIR/prescriptions.csv, DIR/ncci.txt, DIR/mue.csv.
With --expect it also writes DIR/expected/ (the findings a SPEC-conforming scrub should make,
computed by an oracle in this file from the generated records, plus the planted malformed rows);
benches/independent/check.py compares a scrub's outputs against them.

Python 3 standard library only. Output is deterministic for a given (--lines, --seed); --jobs only
changes speed.
"""
import argparse
import gzip
import json
import multiprocessing as mp
import os
import random
import re
import shutil
import sys
import time
from datetime import date

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
REF_DIRS = ['/work/shared/reference', os.path.join(REPO, 'src', 'reference', 'data')]

CHUNK_LINES = 200_000


def ref_path(name):
    for d in REF_DIRS:
        p = os.path.join(d, name)
        if os.path.exists(p):
            return p
    sys.exit(f'gen.py: reference file {name} not found in {REF_DIRS}')


def O(y, m, d):
    return date(y, m, d).toordinal()


# ---------------------------------------------------------------- calendar
FY_SETS = [(2025, O(2024, 10, 1), O(2025, 9, 30)), (2026, O(2025, 10, 1), O(2026, 9, 30))]
FIRST_START = O(2024, 9, 22)      # a few visits before FY2025 (DX_CODESET_UNAVAILABLE)
LAST_START = O(2026, 7, 15)
DATE_MAX = O(2026, 10, 9)         # and a few after FY2026
DBASE = O(2024, 1, 1)
DTOP = O(2027, 12, 31)
ISO, MDY, MDY0, YMD8 = [], [], [], []
for _o in range(DBASE, DTOP + 1):
    _d = date.fromordinal(_o)
    ISO.append(_d.isoformat())
    MDY.append(f'{_d.month}/{_d.day}/{_d.year}')
    MDY0.append(f'{_d.month:02d}/{_d.day:02d}/{_d.year}')


def date_text(o, r, iso, mdy):
    """Day o as text: ISO when the draw r < iso, else M/D/YYYY when r < mdy, else MM/DD/YYYY."""
    return ISO[o - DBASE] if r < iso else (MDY[o - DBASE] if r < mdy else MDY0[o - DBASE])


def monday(o):
    return o - (o - 1) % 7


def month_index(o):
    d = date.fromordinal(o)
    return (d.year - 2024) * 12 + d.month - 1


def year_of(o):
    return date.fromordinal(o).year


# ---------------------------------------------------------------- codes
TIMED = {'97032', '97033', '97034', '97035', '97036', '97110', '97112', '97113', '97116', '97124',
         '97140', '97530', '97535', '97542', '97750', '97760', '97761', '97763'}
CMS_PAYERS = {'medicare', 'medicaid'}           # unit rule cms, modifier GP/GO/GN, ncci = true
KX_PAYERS = {'medicare'}
KX_THRESH = {2024: 233000, 2025: 241000, 2026: 248000}   # cents
KX_REVIEW = 300000
PAYERS = ['commercial', 'medicare', 'medicaid', 'workers_comp', 'auto_pip']
PRESS = {'light': 1, 'moderate': 2, 'deep': 3}
MOD_PRESS = {'deep_tissue': 3, 'trigger_point': 3, 'sports': 3, 'swedish': 2, 'myofascial': 2,
             'other': 2, 'mld': 1}
NCCI_MODS = {'59', 'XE', 'XP', 'XS', 'XU', 'E1', 'E2', 'E3', 'E4', 'FA', 'TA', 'LT', 'RT', 'LC', 'LD',
             'RC', 'LM', 'RI'} | {f'F{i}' for i in range(1, 10)} | {f'T{i}' for i in range(1, 10)}
WARN_RULES = {'DX_CODESET_UNAVAILABLE', 'UNITS_UNDER_DOCUMENTED', 'THERAPY_REVIEW_THRESHOLD'}
DX_FMT = re.compile(r'^[A-Z][0-9][A-Z0-9](\.?[A-Z0-9]{1,4})?$')

# Per-unit charges (dollars) by payer family; untimed codes are per visit.
RATE = {'97124': 38, '97140': 44, '97110': 40, '97112': 42, '97530': 45, '97035': 20, '97010': 15,
        '97012': 25, '98940': 45, '97750': 50}
PAYER_FACTOR = {'commercial': 1.25, 'medicare': 0.80, 'medicaid': 0.65, 'workers_comp': 1.10,
                'auto_pip': 1.40}

# NCCI edits written to ncci.txt: (col1, col2, prior1996, effective, deletion or '*', indicator, rationale)
# From DOMAIN.md's list of CMS practitioner edits (2024-07-01); effective dates are plausible, not
# verified.  The last one is MADE UP to exercise "in force" dates and is labelled as such.
NCCI_EDITS = [
    ('97012', '97140', '', '20020101', '*', '1', 'Misuse of column two code with column one code'),
    ('97016', '97018', '*', '19960101', '*', '1', 'Mutually exclusive procedures'),
    ('97016', '97026', '*', '19960101', '*', '1', 'Mutually exclusive procedures'),
    ('97112', '97022', '*', '19960101', '*', '1', 'Mutually exclusive procedures'),
    ('97112', '97036', '*', '19960101', '*', '1', 'Mutually exclusive procedures'),
    ('97113', '97110', '', '20010101', '*', '1', 'Mutually exclusive procedures'),
    ('97140', '97018', '', '20020101', '*', '1', 'Standards of medical / surgical practice'),
    ('97140', '97124', '', '20020101', '*', '0', 'Misuse of column two code with column one code'),
    ('97140', '97161', '', '20170101', '*', '9', 'Standards of medical / surgical practice'),
    ('97140', '97162', '', '20170101', '*', '9', 'Standards of medical / surgical practice'),
    ('97140', '97163', '', '20170101', '*', '9', 'Standards of medical / surgical practice'),
    ('97140', '97530', '', '20020101', '20191231', '1', 'Mutually exclusive procedures'),
    ('97140', '97750', '', '20020101', '*', '1', 'Standards of medical / surgical practice'),
    ('97530', '97161', '', '20170101', '*', '9', 'Standards of medical / surgical practice'),
    ('97530', '97750', '', '20020101', '*', '1', 'Standards of medical / surgical practice'),
    ('97530', '97537', '', '20020101', '*', '1', 'Standards of medical / surgical practice'),
    ('97530', '97542', '', '20020101', '*', '1', 'Standards of medical / surgical practice'),
] + [('97150', c2, '', '20020101', '*', '1', 'More extensive procedure')
     for c2 in ('97110', '97112', '97116', '97140', '97530', '97124')] \
  + [(c1, c2, '', '20200101', '*', '1', 'Standards of medical / surgical practice')
     for c1 in ('97760', '97761', '97763') for c2 in ('97124', '97140', '97110', '97112', '97116', '97016')] \
  + [(c1, c2, '', '20020101', '*', '1', 'Standards of medical / surgical practice')
     for c1 in ('98940', '98941', '98942') for c2 in ('97124', '97140', '97112')] \
  + [(c1, '97140', '', '20020101', '*', '0', 'Misuse of column two code with column one code')
     for c1 in ('98925', '98926', '98927', '98928', '98929')] \
  + [('97112', '97035', '', '20250401', '20251231', '0',
      'MADE UP FOR CLAIMSCRUB INDEPENDENT TESTS - not a CMS edit')]

# MUE values from DOMAIN.md (CMS practitioner MUE 2024-07-01, not verified against a CMS copy).
MUE = {'97124': 4, '97140': 6, '97110': 6, '97112': 4, '97530': 6, '97116': 4, '97035': 2, '97032': 4,
       '97033': 4, '97750': 8, '97012': 1, '97016': 1, '97010': 0, '97161': 1, '97162': 1, '97163': 1,
       '97164': 1}


def edits_parsed():
    out = []
    for c1, c2, _p, eff, dele, ind, _r in NCCI_EDITS:
        e = O(int(eff[:4]), int(eff[4:6]), int(eff[6:]))
        d = None if dele == '*' else O(int(dele[:4]), int(dele[4:6]), int(dele[6:]))
        out.append((c1, c2, e, d, int(ind)))
    return out


# ---------------------------------------------------------------- clinical profiles
# name, weight, primary dx, secondary dx, cpt weights, payer weights, options
PROFILES = [
    ('low_back', 28, ['M54.50', 'M54.59', 'M54.16', 'M54.41', 'M54.42'],
     ['M62.830', 'M62.838', 'M54.6', 'M79.18'],
     {'97124': 6, '97140': 5, '97110': 3, '97112': 1, '97530': 2, '97035': 1, '97012': 1, '97010': 0.4},
     {'commercial': 40, 'medicare': 22, 'medicaid': 10, 'workers_comp': 20, 'auto_pip': 8}, {}),
    ('neck', 16, ['M54.2', 'M53.82', 'G44.209'], ['M62.838', 'M79.12'],
     {'97124': 6, '97140': 5, '97110': 2, '97112': 2, '98940': 0.5},
     {'commercial': 40, 'medicare': 20, 'medicaid': 10, 'workers_comp': 15, 'auto_pip': 15}, {}),
    ('whiplash', 11, ['S13.4XXA'], ['M54.2', 'M62.838', 'S16.1XXA'],
     {'97140': 5, '97124': 5, '97110': 3, '97112': 2},
     {'commercial': 15, 'workers_comp': 35, 'auto_pip': 50}, {'whiplash': True}),
    ('myalgia', 12, ['M79.7', 'M79.10', 'M79.11', 'M79.12', 'M79.18'], ['M62.838', 'M62.830'],
     {'97124': 7, '97140': 4, '97110': 1},
     {'commercial': 45, 'medicare': 25, 'medicaid': 15, 'workers_comp': 10, 'auto_pip': 5}, {}),
    ('lymphedema', 4, ['I89.0', 'I97.2'], ['Z90.11', 'Z90.12', 'Z90.13'], {'97140': 1},
     {'commercial': 45, 'medicare': 40, 'medicaid': 15}, {'mld': True}),
    ('knee_postop', 8, ['Z47.1'], ['Z96.651', 'Z96.652', 'M25.561', 'M25.562'],
     {'97140': 4, '97110': 5, '97530': 3, '97124': 2, '97010': 0.4, '97035': 0.5},
     {'commercial': 35, 'medicare': 45, 'medicaid': 10, 'workers_comp': 10}, {'postop': True}),
    ('shoulder', 10, ['M25.511', 'M25.512'], ['M62.838', 'M79.601'],
     {'97140': 5, '97124': 3, '97110': 4, '97035': 1, '97112': 1},
     {'commercial': 40, 'medicare': 25, 'medicaid': 10, 'workers_comp': 25}, {}),
    ('ms', 3, ['G35'], ['M62.838', 'R26.89'], {'97124': 4, '97140': 3, '97112': 3, '97110': 3},
     {'commercial': 40, 'medicare': 40, 'medicaid': 20}, {'ms': True}),
    ('stress', 1.5, ['Z73.3'], ['Z72.3'], {'97124': 1},
     {'commercial': 80, 'auto_pip': 20}, {'wellness': True}),
]
PROF_W = [p[1] for p in PROFILES]
HEADER_OF = {'M54.50': 'M54.5', 'M54.59': 'M54.5', 'M79.10': 'M79.1', 'M79.11': 'M79.1',
             'M79.12': 'M79.1', 'M79.18': 'M79.1', 'M62.830': 'M62.83', 'M62.838': 'M62.83',
             'M25.511': 'M25.51', 'M25.512': 'M25.51', 'M25.561': 'M25.56', 'M25.562': 'M25.56'}
NOT_ON_RX_POOL = ['M25.511', 'M54.2', 'M79.7', 'M54.50', 'S13.4XXA', 'M25.561', 'G44.209', 'M54.6']
UNKNOWN_POOL = ['M54.99', 'M79.19', 'S13.4XXZ', 'M62.839', 'M54.70', 'Z99.99']
INVALID_POOL = ['54.50', 'M54..50', 'M5', 'M-54.50', 'M54.50000', 'MM54.5', 'M54.50 M62.830', '5M4.50',
                'M54.']
WELLNESS_DX = [['Z73.3'], ['Z72.3', 'Z73.3'], ['Z71.89'], ['Z00.00']]

UNIT_OPT = {'97124': ([1, 2, 3, 4], [30, 42, 18, 10]), '97140': ([1, 2, 3], [40, 45, 15]),
            '97110': ([1, 2, 3], [45, 40, 15]), '97112': ([1, 2], [60, 40]),
            '97530': ([1, 2], [60, 40]), '97035': ([1], [1])}
MOD_FOR = {
    '97124': (['swedish', 'deep_tissue', 'trigger_point', 'sports', ''], [50, 20, 8, 5, 17]),
    '97140': (['myofascial', 'trigger_point', 'other', ''], [60, 10, 10, 20]),
}
NOTES = ['Pt tolerated well', 'Pain 6/10, improved to 3/10', 'Pt says "much better" today',
         'Re-eval due; see chart', 'HEP reviewed, pt compliant', 'Late arrival, 10 min, short session',
         '=HYPERLINK("x")', '-tight hamstrings', '+ heat pack', 'L/R asymmetry, see body chart',
         'Copay collected: $20', 'Referral, faxed 2x']


# ---------------------------------------------------------------- reference loading (parent, then fork)
ICD = {}          # fy -> {code: '1'/'0'}
WELL_PREFIX = ()


def load_reference():
    global ICD, WELL_PREFIX
    for fy in (2025, 2026):
        d = {}
        with gzip.open(ref_path(f'icd10cm_fy{fy}.tsv.gz'), 'rt', encoding='utf-8') as f:
            next(f)
            for line in f:
                c, b, _ = line.split('\t', 2)
                d[c] = b
        ICD[fy] = d
    pre = []
    with open(ref_path('wellness_codes.tsv'), encoding='utf-8') as f:
        next(f)
        for line in f:
            if line.strip():
                pre.append(line.split('\t')[0].strip().upper())
    WELL_PREFIX = tuple(pre)
    # the baseline codes must be billable in both years (G35 is the deliberate exception)
    for p in PROFILES:
        for c in p[2] + p[3]:
            k = c.replace('.', '')
            if c == 'G35':
                continue
            for fy in (2025, 2026):
                if ICD[fy].get(k) != '1':
                    sys.exit(f'gen.py: baseline code {c} not billable in FY{fy}')
    for c in UNKNOWN_POOL:
        assert all(c.replace('.', '') not in ICD[fy] for fy in ICD), c


def npi_check(nine):
    s = '80840' + nine
    total = 0
    for i, ch in enumerate(reversed(s)):
        n = int(ch)
        if i % 2 == 0:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return nine + str((10 - total % 10) % 10)


def npi_pool(rng, n, first):
    out = set()
    while len(out) < n:
        out.add(npi_check(first + ''.join(rng.choice('0123456789') for _ in range(8))))
    return sorted(out)


# ---------------------------------------------------------------- records
class Line:
    __slots__ = ('cid', 'ln', 'pid', 'payer', 'rnpi', 'ref', 'rx', 'd', 'cpt', 'mods', 'mods_raw',
                 'units', 'cents', 'dx', 'pos', 'note', 'bad')


class Sess:
    __slots__ = ('sid', 'pid', 'npi', 'd', 'cpt', 'mins', 'modality', 'pressure', 'bad')


class Doc:
    __slots__ = ('rx', 'pid', 'npi', 'typ', 'dx', 'auth', 'start', 'end', 'freq', 'allowed', 'reqmod',
                 'maxp', 'used', 'bad', 'dup')


# ---------------------------------------------------------------- chunk generator
class Chunk:
    def __init__(self, idx, target, seed, therapists, prescribers, expect):
        self.idx = idx
        self.rng = random.Random(f'{seed}:{idx}')
        self.target = target
        self.n = 0
        self.therapists = therapists
        self.prescribers = prescribers
        self.expect = expect
        self.pseq = 0
        self.cseq = 0
        self.sseq = 0
        self.rseq = 0
        self.plants = {}
        self.claims_out = {}     # month -> list of temp rows
        self.sess_out = {}
        self.rx_out = []
        self.expected = []
        self.last_rx = None

    def plant(self, k, n=1):
        self.plants[k] = self.plants.get(k, 0) + n

    def new_claim_id(self):
        self.cseq += 1
        return f'C{self.idx:04d}{self.cseq:07d}'

    def new_rx_id(self, payer):
        self.rseq += 1
        pre = 'WC' if payer == 'workers_comp' else ('PIP' if payer == 'auto_pip' else 'RX')
        return f'{pre}-{self.idx:04d}{self.rseq:06d}'

    # ------------------------------------------------------------ one patient
    def patient(self):
        rng = self.rng
        self.pseq += 1
        pid = f'P{self.idx:04d}{self.pseq:06d}'
        prof = rng.choices(PROFILES, PROF_W)[0]
        pname, _w, prim, sec, cptw, payw, opt = prof
        payer = rng.choices(list(payw), list(payw.values()))[0]
        cms = payer in CMS_PAYERS
        therapist = rng.choice(self.therapists)
        colleague = rng.choice(self.therapists)
        prescriber = rng.choice(self.prescribers)
        anticoag = rng.random() < (0.12 if payer == 'medicare' else 0.04)
        # the plan: which codes this patient's treatment uses
        codes = list(cptw)
        plan = {}
        for c in codes:
            if rng.random() < min(1.0, cptw[c] / 5.0 + 0.15) or len(codes) == 1:
                plan[c] = cptw[c]
        if not plan:
            plan[codes[0]] = 1
        if cms and '97124' in plan and '97140' in plan:
            # a Medicare practice knows massage is not paid beside manual therapy
            del plan[rng.choice(['97124', '97140'])]
        if cms and '97012' in plan and '97140' in plan:
            del plan['97012']
        # diagnoses of the prescription
        p1 = rng.choice(prim)
        dxl = [p1] + rng.sample(sec, rng.randint(0, min(2, len(sec))))
        if anticoag:
            dxl.append('Z79.01')
        rx_dx = []
        for c in dxl:
            if c in HEADER_OF and rng.random() < 0.2:
                rx_dx.append(HEADER_OF[c])      # prescriber writes the category: prefix match
            else:
                rx_dx.append(c)
        if opt.get('whiplash') and rng.random() < 0.3:
            rx_dx[0] = 'S13.4'                  # covers S13.4XXA and S13.4XXD
        reqmod = 'mld' if opt.get('mld') else ''
        maxp = 'light' if anticoag or (reqmod and rng.random() < 0.3) else ''
        # documents
        r = rng.random()
        if r < 0.006:
            docsit = 'none'
        elif r < 0.016:
            docsit = 'referral_only'
        elif r < 0.020:
            docsit = 'recommendation_only'
        elif r < 0.05:
            docsit = 'referral_plus'
        else:
            docsit = 'rx'
        if opt.get('wellness') and docsit == 'rx' and rng.random() < 0.6:
            docsit = 'recommendation_only'
        if docsit in ('referral_only', 'recommendation_only'):
            # keep the content of a non-prescription unambiguous: only the default codes
            plan = {c: w for c, w in plan.items() if c in ('97124', '97140')} or {'97124': 1}
            if cms and len(plan) == 2:
                del plan['97140']
        give_rx = rng.random() < 0.6
        allowed_default = set(plan) <= {'97124', '97140'} and rng.random() < 0.5
        # visits target
        vtarget = rng.randint(10, 30)
        if rng.random() < 0.15:
            vtarget = rng.randint(3, 9)
        start = rng.randint(FIRST_START, LAST_START)
        if opt.get('postop'):
            surgery = start - 42
        episodes = []     # (doc, [visit ords], planted kinds)
        docs = []
        pv = 0
        cur = start
        n_ep = 0
        while pv < vtarget and n_ep < 3 and cur <= DATE_MAX:
            n_ep += 1
            auth = rng.randint(6, 24)
            used = rng.randint(1, auth // 2) if rng.random() < 0.25 else 0
            freq = rng.choices([None, 1, 2, 3], [30, 10, 40, 20])[0]
            remaining = auth - used
            n = min(remaining, vtarget - pv)
            kinds = []
            if rng.random() < 0.035 and docsit in ('rx', 'referral_plus'):
                x = rng.randint(1, 3)
                n = remaining + x
                kinds.append('sessions_exceeded')
            first = cur if not (opt.get('postop') and n_ep == 1) else surgery + 42 + rng.randint(0, 7)
            dates = schedule(rng, first, n, freq)
            dates = [d for d in dates if d <= DATE_MAX]
            if not dates:
                break
            if freq and rng.random() < 0.03 and docsit in ('rx', 'referral_plus'):
                extra = extra_visit(rng, dates, freq)
                if extra:
                    dates.append(extra)
                    dates.sort()
                    kinds.append('frequency_exceeded')
            # dates of the document
            rx_start = dates[0] - rng.randint(0, 10)
            if opt.get('postop') and n_ep == 1:
                rx_start = surgery + 42        # the post-operative waiting period ends here
                if rng.random() < 0.2 and len(dates) > 2:
                    dates[0] = rx_start - rng.randint(1, 6)   # therapist started too early
                    dates.sort()
                    kinds.append('before_start')
            if episodes:
                rx_start = max(rx_start, episodes[-1][0].end + 1)
                if rng.random() < 0.04 and episodes[-1][0].end - 20 > episodes[-1][0].start:
                    rx_start = episodes[-1][0].end - rng.randint(3, 20)   # overlapping plans
                    kinds.append('overlap')
            rx_end = dates[-1] + rng.randint(3, 40)
            if len(dates) >= 3 and rng.random() < 0.04:
                x = rng.randint(1, 2)
                lo, hi = dates[-x - 1], dates[-x]
                if hi > lo:
                    rx_end = lo + rng.randint(0, hi - lo - 1)
                    kinds.append('expired')
            if len(dates) >= 3 and rng.random() < 0.015 and 'before_start' not in kinds:
                lo, hi = dates[0], dates[1]
                if hi > lo:
                    rx_start = lo + rng.randint(1, hi - lo)
                    kinds.append('before_start')
            for k in kinds:
                self.plant('episode_' + k)
            doc = Doc()
            doc.rx = self.new_rx_id(payer)
            doc.pid = pid
            doc.npi = prescriber
            doc.typ = 'prescription'
            doc.dx = rx_dx
            doc.auth = auth
            doc.start = rx_start
            doc.end = max(rx_end, rx_start)
            doc.freq = freq
            doc.allowed = [] if allowed_default else sorted(plan, key=lambda _c: rng.random())
            doc.reqmod = reqmod
            doc.maxp = maxp
            doc.used = used
            doc.bad = None
            doc.dup = False
            episodes.append((doc, dates, kinds))
            pv += len(dates)
            cur = max(dates[-1], doc.end) + rng.randint(1, 40)
        if not episodes:
            return
        # non-prescription documents
        all_docs = []
        if docsit in ('rx', 'referral_plus'):
            all_docs = [e[0] for e in episodes]
        if docsit in ('referral_only', 'recommendation_only', 'referral_plus'):
            ref = Doc()
            ref.rx = self.new_rx_id('commercial').replace('RX-', 'REF-')
            ref.pid = pid
            ref.npi = prescriber
            ref.typ = 'recommendation' if docsit == 'recommendation_only' else 'referral'
            ref.dx = rx_dx
            ref.auth = None
            ref.start = episodes[0][0].start - rng.randint(0, 30)
            ref.end = max(e[0].end for e in episodes) + rng.randint(0, 30)
            ref.freq = None
            ref.allowed = []
            ref.reqmod = ''
            ref.maxp = ''
            ref.used = None
            ref.bad = None
            ref.dup = False
            all_docs.insert(0, ref)
            self.plant('patient_' + docsit)
            if docsit != 'referral_plus':
                for e in episodes:
                    e[0].rx = ref.rx        # claims name the referral when they name anything
        if docsit == 'none':
            self.plant('patient_no_document')
        self.plant('patients')
        # ------------------------------------------------------------ visits
        visits = []   # (date, lines(list of Line without claim ids), sessions, episode index)
        sessions = []
        for ei, (doc, dates, kinds) in enumerate(episodes):
            for vi, d in enumerate(dates):
                vl, vs = self.visit(pid, payer, cms, plan, dxl, p1, d, doc, therapist, colleague,
                                    prescriber, opt, anticoag, reqmod, maxp, give_rx, docsit)
                # stale prescription number carried into the next plan
                if give_rx and ei > 0 and vi < 2 and docsit in ('rx', 'referral_plus') \
                        and self.stale_ep == (pid, ei):
                    for l in vl:
                        l.rx = episodes[ei - 1][0].rx
                    self.plant('visit_stale_rx_id')
                visits.append((d, vl, vs))
                sessions.extend(vs)
            if give_rx and ei + 1 < len(episodes) and rng.random() < 0.06:
                self.stale_ep = (pid, ei + 1)
        # ------------------------------------------------------------ claims
        claims = []
        i = 0
        while i < len(visits):
            d, vl, _vs = visits[i]
            lines = list(vl)
            if (not cms and i + 1 < len(visits) and visits[i + 1][0] - d <= 7
                    and len(vl) + len(visits[i + 1][1]) <= 6 and rng.random() < 0.10):
                lines += visits[i + 1][1]          # weekly billing: two visits on one claim
                self.plant('claim_two_visits')
                i += 1
            i += 1
            if not lines:
                continue
            claims.append(lines)
        out_claims = []
        for lines in claims:
            lines = lines[:6]
            cid = self.new_claim_id()
            for n, l in enumerate(lines, 1):
                l.cid = cid
                l.ln = n
            # a line repeated inside the claim
            if len(lines) < 6 and rng.random() < 0.0015:
                src = rng.choice(lines)
                cp = copy_line(src)
                cp.ln = len(lines) + 1
                lines.append(cp)
                self.plant('line_repeated_in_claim')
            out_claims.append(lines)
        # resubmissions (the same lines again under a new claim id)
        for lines in list(out_claims):
            if rng.random() < 0.0025:
                cid = self.new_claim_id()
                cp_lines = []
                for l in lines:
                    cp = copy_line(l)
                    cp.cid = cid
                    if rng.random() < 0.5 and len(cp.mods) > 1:
                        cp.mods = list(reversed(cp.mods))
                    if rng.random() < 0.3:
                        cp.cents += 500
                    cp_lines.append(cp)
                out_claims.append(cp_lines)
                self.plant('claim_resubmitted')
        # ------------------------------------------------------------ budget
        remaining = self.target - self.n
        flat = []
        for lines in out_claims:
            if len(flat) + len(lines) > remaining:
                lines = lines[:remaining - len(flat)]
            flat.extend(lines)
            if len(flat) >= remaining:
                break
        self.n += len(flat)
        # ------------------------------------------------------------ malformed rows
        for l in flat:
            l.bad = None
            if rng.random() < 0.0006:
                l.bad = rng.choices(['service_date', 'units', 'payer_type', 'charge', 'line_no',
                                     'truncated'], [30, 25, 20, 10, 8, 7])[0]
                self.plant('malformed_claims_' + l.bad)
        for s in sessions:
            s.bad = None
            if rng.random() < 0.0005:
                s.bad = rng.choices(['minutes', 'modality', 'pressure', 'service_date'],
                                    [40, 25, 15, 20])[0]
                self.plant('malformed_sessions_' + s.bad)
        dups = []
        for doc in all_docs:
            doc.bad = None
            if rng.random() < 0.003:
                doc.bad = rng.choice(['document_type', 'start_date']
                                     + (['authorized_sessions'] if doc.typ == 'prescription' else []))
                self.plant('malformed_prescriptions_' + doc.bad)
            elif rng.random() < 0.002 and doc.typ == 'prescription':
                dd = copy_doc(doc)
                dd.auth = 1                 # if this copy were used, sessions would be exceeded
                dd.dup = True
                dd.bad = 'duplicate'
                dups.append(dd)
                self.plant('malformed_prescriptions_duplicate')
        # ------------------------------------------------------------ KX modifier (Medicare)
        if payer in KX_PAYERS:
            forget = rng.random() < 0.12
            tot = {}
            for l in sorted((l for l in flat if not l.bad), key=lambda l: (l.d, l.cid, l.ln)):
                if 'GP' not in l.mods and 'GN' not in l.mods:
                    continue
                y = year_of(l.d)
                t = tot.get(y, 0) + l.cents
                tot[y] = t
                if t > KX_THRESH.get(y, 10 ** 12) and 'KX' not in l.mods:
                    if forget and rng.random() < 0.5:
                        self.plant('line_kx_forgotten')
                    else:
                        l.mods.append('KX')
        # ------------------------------------------------------------ modifiers as text
        for l in flat:
            m = l.mods
            if not m:
                l.mods_raw = ''
            else:
                r = rng.random()
                if r < 0.03:
                    l.mods_raw = ';'.join(x.lower() for x in m)
                elif r < 0.05:
                    l.mods_raw = ' ; '.join(m)
                else:
                    l.mods_raw = ';'.join(m)
        if self.expect:
            oracle(self, flat, sessions, all_docs + dups)
        self.render(flat, sessions, all_docs, dups)
        self.last_rx = episodes[-1][0].rx

    # ------------------------------------------------------------ one visit
    def visit(self, pid, payer, cms, plan, dxl, p1, d, doc, therapist, colleague, prescriber, opt,
              anticoag, reqmod, maxp, give_rx, docsit):
        rng = self.rng
        self.sseq += 1
        sid = f'S{self.idx:04d}{self.sseq:07d}'
        npi = colleague if rng.random() < 0.08 else therapist
        k = rng.choices([1, 2, 3, 4], [30, 40, 20, 10])[0]
        pcodes = list(plan)
        k = min(k, len(pcodes))
        codes = []
        pool = dict(plan)
        for _ in range(k):
            c = rng.choices(list(pool), list(pool.values()))[0]
            codes.append(c)
            del pool[c]
        ncci_plant = None
        if cms and rng.random() < 0.015 and docsit in ('rx', 'referral_plus'):
            for c in ('97140', '97124'):
                if c not in codes:
                    codes.append(c)
            ncci_plant = rng.choices(['same', 'mod59', 'other_npi'], [60, 25, 15])[0]
            self.plant('visit_ncci_97140_97124_' + ncci_plant)
        elif cms and rng.random() < 0.004 and docsit in ('rx', 'referral_plus') and '97140' in codes:
            codes.append('97012')
            ncci_plant = rng.choice(['traction', 'traction59'])
            self.plant('visit_ncci_97012_97140_' + ncci_plant)
        if rng.random() < 0.003 and docsit in ('rx', 'referral_plus'):
            extra = rng.choice([c for c in ('97110', '97112', '97530', '97035', '98940') if c not in codes])
            codes.append(extra)
            self.plant('visit_cpt_outside_plan')
        # minutes and units
        mins = {}
        units = {}
        for c in codes:
            if c in TIMED:
                opts, w = UNIT_OPT.get(c, ([1, 2], [60, 40]))
                u = rng.choices(opts, w)[0]
                mins[c] = max(8, 15 * u + rng.randint(-7, 7))
                units[c] = u
            else:
                mins[c] = 0 if rng.random() < 0.05 else rng.randint(8, 20)
                units[c] = 1
        doc_only = None
        if rng.random() < 0.03:
            cand = [c for c in ('97112', '97110') if c not in codes]
            if cand:
                doc_only = cand[0]
                mins[doc_only] = rng.randint(3, 12)   # documented, not billed
                self.plant('visit_documented_not_billed')
        if cms:
            alloc = cms_alloc(rng, {c: m for c, m in mins.items() if c in TIMED})
            for c in codes:
                if c in TIMED:
                    units[c] = alloc[c]
        billed = [c for c in codes if units[c] > 0]
        # sessions
        srows = []
        shift = rng.random() < 0.001
        if shift:
            self.plant('visit_session_dated_next_day')
        for c, m in mins.items():
            if c in codes and c in billed and rng.random() < 0.0035:
                self.plant('line_session_row_missing')
                continue
            parts = [m]
            if c in TIMED and m >= 16 and rng.random() < 0.08:
                a = rng.randint(5, m - 5)
                parts = [a, m - a]
            for pm in parts:
                s = Sess()
                s.sid = sid
                s.pid = pid
                s.npi = npi
                s.d = d + 1 if shift else d
                s.cpt = c
                s.mins = pm
                modality, pressure = self.modality(c, reqmod, maxp, opt)
                s.modality = modality
                s.pressure = pressure
                srows.append(s)
        if srows and rng.random() < 0.001:
            srows[0].cpt = '97124' if srows[0].cpt != '97124' else '97140'
            self.plant('visit_session_wrong_cpt')
        # minutes that do not support the units
        for c in billed:
            if c in TIMED:
                r = rng.random()
                if r < 0.012:
                    units[c] += 1
                    self.plant('line_units_plus_one')
                elif r < 0.020 and units[c] >= 2:
                    units[c] -= 1
                    self.plant('line_units_minus_one')
                elif r < 0.024:
                    for s in srows:
                        if s.cpt == c:
                            s.mins = max(0, s.mins - rng.randint(8, 14))
                            self.plant('line_minutes_short')
                            break
            elif rng.random() < 0.003:
                units[c] = 2
                self.plant('line_untimed_two_units')
        # lines
        lines = []
        base = ['GP'] if (cms or rng.random() < 0.45) else []
        dx_base = self.dx_for(dxl, p1, d, opt)
        refn = prescriber if rng.random() < 0.8 else ''
        for c in billed:
            u = units[c]
            split = c in TIMED and u >= 2 and rng.random() < 0.05
            parts = [(u, [])] if not split else [(1, ['RT']), (u - 1, ['LT'])]
            if split:
                self.plant('line_split_rt_lt')
            for pu, extra in parts:
                l = Line()
                l.pid = pid
                l.payer = payer
                l.rnpi = npi
                l.ref = refn
                l.rx = doc.rx if give_rx else ''
                l.d = d
                l.cpt = c
                l.mods = list(base) + extra
                l.units = pu
                l.cents = int(round(RATE.get(c, 40) * PAYER_FACTOR[payer] * (pu if c in TIMED else 1) * 100))
                l.dx = dx_base
                l.pos = '11' if rng.random() < 0.9 else rng.choice(['12', '02', '22'])
                l.note = rng.choice(NOTES) if rng.random() < 0.12 else ''
                if rng.random() < 0.0001:
                    l.note = 'Pt reports pain\nafter lifting'      # a quoted field over two lines
                    self.plant('line_note_with_newline')
                lines.append(l)
        if ncci_plant:
            for l in lines:
                if ncci_plant == 'mod59' and l.cpt == '97124':
                    l.mods.append('59')
                if ncci_plant == 'other_npi' and l.cpt == '97124':
                    l.rnpi = colleague if npi != colleague else therapist
                if ncci_plant == 'traction59' and l.cpt == '97140':
                    l.mods.append('59')
        # line-level plants
        for l in lines:
            r = rng.random()
            if r < 0.002:
                l.dx = ''
                self.plant('line_dx_missing')
            elif r < 0.0032:
                l.dx = with_code(rng, l.dx, rng.choice(INVALID_POOL))
                self.plant('line_dx_invalid_format')
            elif r < 0.0042:
                l.dx = with_code(rng, l.dx, rng.choice(UNKNOWN_POOL), replace=rng.random() < 0.5)
                self.plant('line_dx_unknown')
            elif r < 0.0082:
                h = HEADER_OF.get(p1, 'M54.5')
                l.dx = fmt_dx(rng, [h] + dx_codes_of(l.dx)[1:])
                self.plant('line_dx_header')
            elif r < 0.0092:
                l.dx = fmt_dx(rng, rng.choice(WELLNESS_DX))
                self.plant('line_dx_wellness_only')
            elif r < 0.0122:
                other = [c for c in NOT_ON_RX_POOL if c.replace('.', '')[:3] not in
                         {x.replace('.', '')[:3] for x in dxl}]
                l.dx = fmt_dx(rng, [rng.choice(other)])
                self.plant('line_dx_not_on_rx')
            if cms and rng.random() < 0.006 and ('GP' in l.mods) and 97010 <= int(l.cpt) <= 97799:
                l.mods.remove('GP')
                self.plant('line_modifier_gp_dropped')
            if rng.random() < 0.0005:
                l.units = rng.choice([0, -1])
                self.plant('line_units_invalid')
            if l.rx and rng.random() < 0.0015:
                l.rx = rng.choice([l.rx + 'X', self.last_rx or 'RX-000000'])
                self.plant('line_rx_not_found')
        return lines, srows

    def modality(self, c, reqmod, maxp, opt):
        rng = self.rng
        if reqmod:
            if rng.random() < 0.08:
                self.plant('session_modality_not_mld')
                return 'myofascial', ''
            return ('mld' if rng.random() < 0.9 else 'MLD'), ''
        if maxp:
            if rng.random() < 0.06:
                self.plant('session_pressure_too_high')
                return rng.choice([('deep_tissue', ''), ('swedish', 'moderate'), ('swedish', '')])
            return rng.choice(['swedish', 'myofascial', 'other']), rng.choice(['light', 'Light'])
        if c in MOD_FOR:
            opts, w = MOD_FOR[c]
            m = rng.choices(opts, w)[0]
        else:
            m = 'other' if rng.random() < 0.6 else ''
        p = ''
        if m and rng.random() < 0.4:
            p = {3: 'deep', 2: 'moderate', 1: 'light'}[MOD_PRESS[m]]
        if m and rng.random() < 0.03:
            m = m.upper() if rng.random() < 0.5 else m.title()
        return m, p

    def dx_for(self, dxl, p1, d, opt):
        rng = self.rng
        codes = [p1] + [c for c in dxl[1:] if rng.random() < 0.5]
        if opt.get('ms'):
            if d >= FY_SETS[1][1]:
                codes[0] = rng.choice(['G35D', 'G35A', 'G35C0'])
                if rng.random() < 0.05:
                    codes[0] = 'G35'                      # stale code after 2025-10-01
                    self.plant('line_dx_g35_after_fy2026')
            elif rng.random() < 0.02:
                codes[0] = 'G35A'                         # a FY2026 code used too early
                self.plant('line_dx_g35a_before_fy2026')
        if opt.get('whiplash') and rng.random() < 0.05:
            codes[0] = 'S13.4XXD'
            self.plant('line_dx_whiplash_subsequent')
        return fmt_dx(rng, codes)

    # ------------------------------------------------------------ text
    def render(self, flat, sessions, docs, dups):
        rng = self.rng
        rr = rng.random
        co = self.claims_out
        for l in flat:
            ds = date_text(l.d, rr(), 0.8, 0.92)
            payer = l.payer
            r = rr()
            if r < 0.07:
                payer = payer.title()
            elif r < 0.1:
                payer = payer.upper()
            pid = l.pid if rr() < 0.995 else f' {l.pid} '
            units = str(l.units)
            if rr() < 0.001:
                units = f'+{l.units}' if l.units > 0 else f' {l.units} '
            c = l.cents
            charge = f'{c // 100}.{c % 100:02d}' if (c % 100 or rr() < 0.7) else str(c // 100)
            if l.cents < 0:
                charge = f'{c / 100:.2f}'
            dx = l.dx
            if dx and (rr() < 0.25 or ',' in dx or '"' in dx):
                dx = '"' + dx.replace('"', '""') + '"'
            note = l.note
            if note and (',' in note or '"' in note or '\n' in note or rr() < 0.2):
                note = '"' + note.replace('"', '""') + '"'
            ln = str(l.ln)
            cpt = l.cpt
            bad = l.bad
            if bad:
                if bad == 'service_date':
                    ds = rng.choice([f'{ISO[l.d - DBASE][:8]}32', ISO[l.d - DBASE].replace('-', '/'),
                                     'yesterday', '13/13/2025', ''])
                elif bad == 'units':
                    units = rng.choice(['1.0', 'two', '', '1e1'])
                elif bad == 'payer_type':
                    payer = rng.choice(['bcbs', 'medicare_advantage', 'self_pay', 'tricare'])
                elif bad == 'charge':
                    charge = rng.choice([f'${charge}', f'{charge} USD', 'n/a'])
                elif bad == 'line_no':
                    ln = rng.choice(['0', '-1', 'one'])
            fields = [ds, pid, l.cid, ln, l.pos, cpt, l.mods_raw, units, charge, dx, payer, l.rnpi,
                      l.ref, l.rx, note]
            if bad == 'truncated':
                fields = fields[:9]
            text = ','.join(fields)
            if '\n' in text:
                text = text.replace('\n', '\x01')
            key = f'{l.d:07d}{rng.getrandbits(40):010x}'
            co.setdefault(month_index(l.d), []).append(f'{key}\t{bad or "-"}\t{text}\n')
        so = self.sess_out
        for s in sessions:
            ds = date_text(s.d, rr(), 0.75, 0.9)
            mins = str(s.mins)
            modality = s.modality
            pressure = s.pressure
            bad = s.bad
            if bad == 'minutes':
                mins = rng.choice(['-5', 'ten', '12.5', ''])
            elif bad == 'modality':
                modality = rng.choice(['hot_stone', 'reiki', 'thai'])
            elif bad == 'pressure':
                pressure = rng.choice(['firm', 'medium', 'very deep'])
            elif bad == 'service_date':
                ds = rng.choice(['2025-02-29', '2025-00-10', 'n/a'])
            room = rng.choice(['A', 'B', 'C', '2'])
            pid = s.pid if rr() < 0.997 else f' {s.pid}'
            text = ','.join([s.npi, s.sid, ds, pid, s.cpt, modality, mins, pressure, room])
            key = f'{rng.getrandbits(40):010x}'
            so.setdefault(month_index(s.d), []).append(f'{key}\t{bad or "-"}\t{text}\n')
        # prescriptions: the original, then (maybe) its duplicate later in the file
        for doc in docs:
            k = rng.getrandbits(48)
            self.rx_out.append(f'{k:012x}0\t{doc.bad or "-"}\t{self.rx_text(doc)}\n')
            for dd in dups:
                if dd.rx == doc.rx:
                    k2 = k + 1 + rng.getrandbits(30)
                    self.rx_out.append(f'{min(k2, 2 ** 48 - 1):012x}1\tduplicate\t{self.rx_text(dd)}\n')

    def rx_text(self, doc):
        rng = self.rng
        rr = rng.random

        def dt(o):
            return date_text(o, rr(), 0.7, 0.9)
        typ = doc.typ if rr() < 0.95 else doc.typ.title()
        start, end = dt(doc.start), dt(doc.end)
        auth = '' if doc.auth is None else str(doc.auth)
        bad = doc.bad
        if bad == 'document_type':
            typ = rng.choice(['order', 'plan_of_care', 'rx'])
        elif bad == 'start_date':
            start = rng.choice(['2025-13-01', 'TBD', '31/01/2025'])
        elif bad == 'authorized_sessions':
            auth = rng.choice(['twelve', '12.0', ''])
        used = '' if not doc.used else str(doc.used)
        if doc.used == 0 and rr() < 0.3:
            used = '0'
        dx = fmt_dx(rng, doc.dx)
        if rr() < 0.5:
            dx = '"' + dx + '"'
        allowed = ';'.join(doc.allowed)
        if allowed and rr() < 0.1:
            allowed = '"' + ' ; '.join(doc.allowed) + '"'
        maxp = doc.maxp
        if maxp and rr() < 0.1:
            maxp = maxp.upper()
        scanned = f'scan_{doc.rx}.pdf' if rr() < 0.7 else ''
        return ','.join([doc.pid, doc.rx, typ, start, end, auth, used,
                         '' if doc.freq is None else str(doc.freq), dx, allowed, doc.reqmod, maxp,
                         doc.npi, scanned])

    stale_ep = None


def copy_line(l):
    c = Line()
    for k in Line.__slots__:
        if hasattr(l, k):
            setattr(c, k, getattr(l, k))
    c.mods = list(l.mods)
    return c


def copy_doc(d):
    c = Doc()
    for k in Doc.__slots__:
        setattr(c, k, getattr(d, k))
    return c


def schedule(rng, first, n, freq):
    dates = []
    week = monday(first)
    guard = 0
    while len(dates) < n and guard < 400:
        guard += 1
        if dates and rng.random() < 0.1:
            week += 7
            continue
        k = freq if freq else rng.choice([1, 2, 2, 3])
        if freq and freq > 1 and rng.random() < 0.3:
            k = freq - 1
        for dd in sorted(rng.sample(range(6), k)):
            o = week + dd
            if o >= first and len(dates) < n:
                dates.append(o)
        week += 7
    return dates


def extra_visit(rng, dates, freq):
    weeks = {}
    for d in dates:
        weeks.setdefault(monday(d), []).append(d)
    full = [w for w, ds in weeks.items() if len(ds) >= freq]
    if not full:
        return None
    w = rng.choice(full)
    free = [w + i for i in range(7) if w + i not in weeks[w]]
    return rng.choice(free) if free else None


def cms_alloc(rng, mins):
    """Billed units a careful biller gives each timed code under the CMS 8-minute rule."""
    T = sum(mins.values())
    U = (T + 7) // 15 if T >= 8 else 0
    full = {c: m // 15 for c, m in mins.items()}
    R = U - sum(full.values())
    order = sorted(mins, key=lambda c: (-(mins[c] - 15 * full[c]), rng.random()))
    alloc = dict(full)
    for c in order[:R]:
        alloc[c] += 1
    return alloc


def fmt_dx(rng, codes):
    out = []
    for c in codes:
        r = rng.random()
        if r < 0.25:
            c = c.replace('.', '')
        if rng.random() < 0.04:
            c = c.lower()
        if rng.random() < 0.01:
            c = f' {c} '
        out.append(c)
    return ('; ' if rng.random() < 0.05 else ';').join(out)


def dx_codes_of(raw):
    return [c.strip() for c in raw.split(';') if c.strip()] if raw else []


def with_code(rng, raw, code, replace=False):
    codes = dx_codes_of(raw)
    if replace or not codes:
        codes = [code]
    else:
        codes.insert(rng.randint(0, len(codes)), code)
    return ';'.join(codes)


# ---------------------------------------------------------------- oracle (SPEC §2-§5, §8, §9, §10)
def fy_for(o):
    for fy, lo, hi in FY_SETS:
        if lo <= o <= hi:
            return fy, True
    return (FY_SETS[0][0] if o < FY_SETS[0][1] else FY_SETS[-1][0]), False


EDITS = edits_parsed()


def modset(raw):
    return frozenset(m.strip().upper() for m in raw.split(';') if m.strip())


def oracle(ch, lines, sessions, docs):
    """Expected findings of one patient's rows. Appends (cid, ln, rule, sure) to ch.expected.
    sure = 0 marks a point SPEC leaves open (either outcome accepted)."""
    F = {}

    def add(l, rule, sure=1):
        key = (l.cid, l.ln, rule)
        if F.get(key, -1) < sure:
            F[key] = sure

    good = [l for l in lines if not l.bad]
    for l in lines:
        if l.bad:
            ch.expected.append(('M', l.cid, l.ln, l.bad))
    S = {}
    for s in sessions:
        if not s.bad:
            S.setdefault((s.d, s.cpt), []).append(s)
    D = {}
    for d in docs:
        if not d.bad and d.rx not in D:
            D[d.rx] = d
    pres = [d for d in D.values() if d.typ == 'prescription']
    mods = {id(l): modset(l.mods_raw) for l in good}
    link = {}
    # ---- diagnoses
    for l in good:
        codes = [c.strip().upper() for c in l.dx.split(';')] if l.dx else []
        codes = [c for c in codes if c]
        bill = []
        if not codes:
            add(l, 'DX_MISSING')
        else:
            fy, covered = fy_for(l.d)
            if not covered:
                add(l, 'DX_CODESET_UNAVAILABLE')
            for c in codes:
                if not DX_FMT.match(c):
                    add(l, 'DX_INVALID_FORMAT')
                    continue
                k = c.replace('.', '')
                b = ICD[fy].get(k)
                if b is None:
                    add(l, 'DX_UNKNOWN')
                elif b.startswith('0'):
                    add(l, 'DX_NOT_BILLABLE')
                else:
                    bill.append(k)
            if bill and all(k.startswith(WELL_PREFIX) for k in bill):
                add(l, 'WELLNESS_ONLY')
        l_bill = bill
        # ---- prescription
        doc = None
        if l.rx:
            d = D.get(l.rx)
            if d is None:
                add(l, 'RX_NOT_FOUND')
            elif d.typ != 'prescription':
                add(l, 'RX_NOT_A_PRESCRIPTION')
            else:
                doc = d
                if l.d < d.start:
                    add(l, 'RX_BEFORE_START')
                elif l.d > d.end:
                    add(l, 'RX_EXPIRED')
        else:
            if not D:
                add(l, 'RX_MISSING')
            elif not pres:
                add(l, 'RX_NOT_A_PRESCRIPTION')
            else:
                cov = [d for d in pres if d.start <= l.d <= d.end]
                if cov:
                    doc = sorted(cov, key=lambda d: (-d.start, d.rx))[0]
                else:
                    ended = [d for d in pres if d.end < l.d]
                    if ended:
                        doc = sorted(ended, key=lambda d: (-d.end, -d.start, d.rx))[0]
                        add(l, 'RX_EXPIRED')
                    else:
                        doc = sorted(pres, key=lambda d: (d.start, d.rx))[0]
                        add(l, 'RX_BEFORE_START')
        link[id(l)] = doc
        if doc is not None:
            if l_bill:
                rxc = [c.strip().upper().replace('.', '') for c in doc.dx]
                if not any(k.startswith(p) for k in l_bill for p in rxc if p):
                    add(l, 'DX_NOT_ON_RX')
            allowed = {c.strip().upper() for c in doc.allowed if c.strip()} or {'97124', '97140'}
            if l.cpt not in allowed:
                add(l, 'RX_CPT_NOT_ALLOWED')
            rows = S.get((l.d, l.cpt), [])
            if doc.reqmod:
                if any(s.modality and s.modality.lower() != doc.reqmod.lower() for s in rows):
                    add(l, 'RX_MODALITY_MISMATCH')
            if doc.maxp:
                ps = []
                for s in rows:
                    if s.pressure:
                        ps.append(PRESS[s.pressure.lower()])
                    elif s.modality:
                        ps.append(MOD_PRESS[s.modality.lower()])
                if ps and max(ps) > PRESS[doc.maxp.lower()]:
                    add(l, 'RX_PRESSURE_CONTRAINDICATED')
        # ---- modifiers
        if l.payer in CMS_PAYERS and 97010 <= int(l.cpt) <= 97799 and not (mods[id(l)] & {'GP', 'GO', 'GN'}):
            add(l, 'MODIFIER_MISSING')
        if l.units < 1:
            add(l, 'UNITS_INVALID')
        if (l.d, l.cpt) not in S:
            add(l, 'SESSION_MISSING')
    # ---- sessions and frequency per prescription
    by_doc = {}
    for l in good:
        d = link[id(l)]
        if d is not None:
            by_doc.setdefault(d.rx, {}).setdefault(l.d, []).append(l)
    for rxid, visits in by_doc.items():
        d = D[rxid]
        used = d.used or 0
        weeks = {}
        for i, vd in enumerate(sorted(visits)):
            n = used + i + 1
            if d.auth is not None and n > d.auth:
                for l in visits[vd]:
                    add(l, 'RX_SESSIONS_EXCEEDED')
            w = monday(vd)
            weeks[w] = weeks.get(w, 0) + 1
            if d.freq is not None and weeks[w] > d.freq:
                for l in visits[vd]:
                    add(l, 'RX_FREQUENCY_EXCEEDED')
    # ---- units per visit
    vis = {}
    for l in good:
        vis.setdefault(l.d, []).append(l)
    for vd, vl in vis.items():
        bycode = {}
        for l in vl:
            bycode.setdefault(l.cpt, []).append(l)
        docmins = {}
        for (sd, c), rows in S.items():
            if sd == vd:
                docmins[c] = sum(s.mins for s in rows)
        counted = {c: [l for l in ls if l.units >= 1 and (vd, c) in S] for c, ls in bycode.items()}
        billed = {c: sum(l.units for l in ls) for c, ls in counted.items()}
        cms_lines = [l for l in vl if l.payer in CMS_PAYERS]
        # MUE (all profiles: the --mue table); open point: do lines without a session count?
        for c, ls in bycode.items():
            if c in MUE:
                b_all = sum(l.units for l in ls if l.units >= 1)
                b_doc = billed.get(c, 0)
                over_all, over_doc = b_all > MUE[c], b_doc > MUE[c]
                for l in ls:
                    if l.units < 1:
                        continue
                    if over_all and over_doc:
                        add(l, 'UNITS_OVER_MUE', 1 if (vd, c) in S or over_doc == over_all else 0)
                    elif over_all or over_doc:
                        add(l, 'UNITS_OVER_MUE', 0)
        payers = {l.payer for l in vl}
        if len(payers) > 1:
            continue  # not generated
        cms = vl[0].payer in CMS_PAYERS
        for c, ls in counted.items():
            if not ls:
                continue
            if c not in TIMED:
                if billed[c] > 1:
                    for l in ls:
                        add(l, 'UNITS_OVER_DOCUMENTED')
            elif not cms:
                m = docmins.get(c, 0)
                exp = 0 if m < 8 else (m + 7) // 15
                if billed[c] > exp:
                    for l in ls:
                        add(l, 'UNITS_OVER_DOCUMENTED')
                elif billed[c] < exp:
                    for l in ls:
                        add(l, 'UNITS_UNDER_DOCUMENTED')
        if cms:
            tm = {c: m for c, m in docmins.items() if c in TIMED}
            T = sum(tm.values())
            U = (T + 7) // 15 if T >= 8 else 0
            full = {c: m // 15 for c, m in tm.items()}
            R = U - sum(full.values())
            lefts = sorted((m - 15 * full[c] for c, m in tm.items()), reverse=True)
            thr = lefts[R - 1] if R >= 1 else None
            mx = {c: full[c] + (1 if thr is not None and tm[c] - 15 * full[c] >= thr else 0) for c in tm}
            tcodes = [c for c in counted if c in TIMED and counted[c]]
            over_any = False
            for c in tcodes:
                if billed[c] > mx.get(c, 0):
                    over_any = True
                    for l in counted[c]:
                        add(l, 'UNITS_OVER_DOCUMENTED')
            tot = sum(billed[c] for c in tcodes)
            if not over_any and tot > U:
                for c in tcodes:
                    if billed[c] > full.get(c, 0):
                        for l in counted[c]:
                            add(l, 'UNITS_OVER_DOCUMENTED', 1 if len(counted[c]) == 1 else 0)
            if tot < U:
                for c in tcodes:
                    for l in counted[c]:
                        add(l, 'UNITS_UNDER_DOCUMENTED', 0 if over_any else 1)
        # ---- NCCI
        for l in vl:
            if l.payer not in CMS_PAYERS:
                continue
            for c1, c2, eff, dele, ind in EDITS:
                if c2 != l.cpt or ind == 9 or c1 == c2:
                    continue
                if vd < eff or (dele is not None and vd > dele):
                    continue
                others = [o for o in vl if o.cpt == c1 and o.rnpi == l.rnpi]
                if not others:
                    continue
                if ind == 0:
                    add(l, 'NCCI_PTP_CONFLICT')
                else:
                    outs = {not ((mods[id(l)] | mods[id(o)]) & NCCI_MODS) for o in others}
                    if outs == {True}:
                        add(l, 'NCCI_PTP_CONFLICT')
                    elif len(outs) == 2:
                        add(l, 'NCCI_PTP_CONFLICT', 0)
    # ---- duplicates
    seen = set()
    for l in sorted(good, key=lambda l: (l.cid, l.ln)):
        k = (l.d, l.cpt, mods[id(l)])
        if k in seen:
            add(l, 'DUPLICATE_LINE')
        seen.add(k)
    # ---- KX threshold
    tot = {}
    for l in sorted((l for l in good if l.payer in KX_PAYERS), key=lambda l: (l.d, l.cid, l.ln)):
        ms = mods[id(l)]
        if ms & {'GP', 'GN'}:
            b = 'PT'
        elif 'GO' in ms:
            b = 'OT'
        else:
            continue
        y = year_of(l.d)
        prev = tot.get((y, b), 0)
        t = prev + l.cents
        tot[(y, b)] = t
        if y in KX_THRESH and t > KX_THRESH[y] and 'KX' not in ms:
            add(l, 'KX_MODIFIER_MISSING')
        if prev <= KX_REVIEW < t:
            add(l, 'THERAPY_REVIEW_THRESHOLD')
    for (cid, ln, rule), sure in F.items():
        ch.expected.append(('F', cid, ln, rule, sure))


# ---------------------------------------------------------------- worker
def run_chunk(args):
    idx, target, seed, tmp, therapists, prescribers, expect = args
    ch = Chunk(idx, target, seed, therapists, prescribers, expect)
    while ch.n < ch.target:
        ch.patient()
    for m, rows in ch.claims_out.items():
        with open(os.path.join(tmp, f'c_{m:03d}_{idx:05d}'), 'w', encoding='utf-8') as f:
            f.writelines(rows)
    for m, rows in ch.sess_out.items():
        with open(os.path.join(tmp, f's_{m:03d}_{idx:05d}'), 'w', encoding='utf-8') as f:
            f.writelines(rows)
    with open(os.path.join(tmp, f'r_{idx:05d}'), 'w', encoding='utf-8') as f:
        f.writelines(ch.rx_out)
    if expect:
        with open(os.path.join(tmp, f'x_{idx:05d}'), 'w', encoding='utf-8') as f:
            for e in ch.expected:
                f.write(','.join(str(x) for x in e) + '\n')
    return idx, ch.n, ch.plants


CLAIMS_HEADER = ('Service_Date, Patient_ID ,CLAIM_ID,Line_No,place_of_service,cpt,Modifiers,UNITS,'
                 'charge, Diagnosis_Codes,payer_type,Rendering_NPI,referring_npi,Rx_Id,note')
SESS_HEADER = 'THERAPIST_NPI,Session_ID,service_date,Patient_Id,CPT, Modality,Minutes,pressure ,room'
RX_HEADER = ('patient_id,RX_ID,Document_Type,Start_Date,End_Date,authorized_sessions,Sessions_Used,'
             'frequency_per_week,diagnosis_codes,Allowed_CPT,required_modality,MAX_PRESSURE,'
             'Prescriber_NPI,scanned_file')


def merge(tmp, prefix, months, out_path, header, eol, name, reverse, bad_out):
    line = 1
    with open(out_path, 'w', encoding='utf-8', newline='') as out:
        out.write(header + eol)
        line += 1
        files = sorted(os.listdir(tmp))
        for m in (sorted(months, reverse=True) if reverse else sorted(months)):
            pre = f'{prefix}_{m:03d}_'
            rows = []
            for fn in files:
                if fn.startswith(pre):
                    with open(os.path.join(tmp, fn), encoding='utf-8') as f:
                        rows.extend(f.readlines())
            rows.sort()
            buf = []
            for r in rows:
                _k, bad, text = r.split('\t', 2)
                text = text[:-1]
                nl = text.count('\x01')
                if bad != '-':
                    bad_out.append((name, line, bad))
                if nl:
                    text = text.replace('\x01', eol)
                buf.append(text)
                line += 1 + nl
            if buf:
                out.write(eol.join(buf) + eol)
    return line - 2


def write_ncci(path):
    with open(path, 'w', encoding='utf-8', newline='') as f:
        f.write('INDEPENDENT TEST FILE FOR CLAIMSCRUB, NOT A CMS FILE: physical-medicine pairs of the Medicare '
                'NCCI practitioner PTP edits as listed in DOMAIN.md (effective dates plausible, not verified), '
                'plus one MADE-UP edit (97112/97035) labelled in its rationale.\n')
        f.write('CPT codes, descriptions and other data only are copyright American Medical Association. '
                'All Rights Reserved. Applicable FARS/DFARS apply.\n')
        f.write('Practitioner PTP Edits: physical medicine excerpt\n')
        f.write('\n')
        f.write('Column 1\tColumn 2\t*=in existence prior to 1996\tEffective Date\tDeletion Date\t'
                'Modifier\tPTP Edit Rationale\n')
        f.write('\t\t\t\t*=no data\t0=not allowed, 1=allowed, 9=not applicable\t\n')
        for e in NCCI_EDITS:
            f.write('\t'.join(e) + '\n')


def write_mue(path):
    with open(path, 'w', encoding='utf-8', newline='') as f:
        f.write('"INDEPENDENT TEST FILE FOR CLAIMSCRUB: values as listed in DOMAIN.md (CMS practitioner MUE '
                '2024-07-01), not checked against a CMS copy. Do not scrub real claims with it."\n')
        f.write('"CPT codes, descriptions and other data only are copyright American Medical Association. '
                'All Rights Reserved."\n')
        f.write('"HCPCS/CPT Code","Practitioner Services MUE Values","MUE Adjudication Indicator",'
                '"MUE Rationale"\n')
        for c in sorted(MUE):
            f.write(f'{c},{MUE[c]},"3 Date of Service Edit: Clinical","Clinical: Data"\n')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--lines', type=int, required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--jobs', type=int, default=os.cpu_count() or 2)
    ap.add_argument('--expect', action='store_true', help='also write DIR/expected/ (oracle findings)')
    a = ap.parse_args()
    t0 = time.time()
    os.makedirs(a.out, exist_ok=True)
    tmp = os.path.join(a.out, '.gen-tmp')
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    load_reference()
    prng = random.Random(f'{a.seed}:pools')
    therapists = npi_pool(prng, 1500, '1')
    prescribers = npi_pool(prng, 5000, '1')
    nchunks = max(1, -(-a.lines // CHUNK_LINES))
    tasks = []
    for i in range(nchunks):
        tgt = min(CHUNK_LINES, a.lines - i * CHUNK_LINES)
        tasks.append((i, tgt, a.seed, tmp, therapists, prescribers, a.expect))
    plants = {}
    total = 0
    if a.jobs > 1 and nchunks > 1:
        with mp.get_context('fork').Pool(min(a.jobs, nchunks)) as pool:
            for idx, n, p in pool.imap_unordered(run_chunk, tasks):
                total += n
                for k, v in p.items():
                    plants[k] = plants.get(k, 0) + v
    else:
        for t in tasks:
            idx, n, p = run_chunk(t)
            total += n
            for k, v in p.items():
                plants[k] = plants.get(k, 0) + v
    t1 = time.time()
    months = sorted({int(fn.split('_')[1]) for fn in os.listdir(tmp) if fn[:2] in ('c_', 's_')})
    bad = []
    nc = merge(tmp, 'c', months, os.path.join(a.out, 'claims.csv'), CLAIMS_HEADER, '\n', 'claims', False, bad)
    ns = merge(tmp, 's', months, os.path.join(a.out, 'sessions.csv'), SESS_HEADER, '\r\n', 'sessions', True, bad)
    rows = []
    for fn in sorted(os.listdir(tmp)):
        if fn.startswith('r_'):
            with open(os.path.join(tmp, fn), encoding='utf-8') as f:
                rows.extend(f.readlines())
    rows.sort()
    nr = 0
    with open(os.path.join(a.out, 'prescriptions.csv'), 'w', encoding='utf-8', newline='') as out:
        out.write(RX_HEADER + '\n')
        line = 2
        buf = []
        for r in rows:
            _k, b, text = r.split('\t', 2)
            if b != '-':
                bad.append(('prescriptions', line, b))
            buf.append(text)
            line += 1
            nr += 1
        out.writelines(buf)
    write_ncci(os.path.join(a.out, 'ncci.txt'))
    write_mue(os.path.join(a.out, 'mue.csv'))
    if a.expect:
        ed = os.path.join(a.out, 'expected')
        os.makedirs(ed, exist_ok=True)
        with open(os.path.join(ed, 'findings.csv'), 'w', encoding='utf-8') as out:
            out.write('kind,claim_id,line_no,rule_or_column,sure\n')
            for fn in sorted(os.listdir(tmp)):
                if fn.startswith('x_'):
                    with open(os.path.join(tmp, fn), encoding='utf-8') as f:
                        shutil.copyfileobj(f, out)
        with open(os.path.join(ed, 'malformed.csv'), 'w', encoding='utf-8') as out:
            out.write('file,line,column\n')
            for b in bad:
                out.write(f'{b[0]},{b[1]},{b[2]}\n')
        with open(os.path.join(ed, 'plants.json'), 'w', encoding='utf-8') as out:
            json.dump({'claims_rows': nc, 'sessions_rows': ns, 'prescriptions_rows': nr,
                       'plants': dict(sorted(plants.items()))}, out, indent=1)
    shutil.rmtree(tmp)
    t2 = time.time()
    print(f'gen.py: {nc} claim rows, {ns} session rows, {nr} prescription rows, '
          f'{plants.get("patients", 0)} patients with documents or not; '
          f'generate {t1 - t0:.1f}s, merge {t2 - t1:.1f}s', file=sys.stderr)


if __name__ == '__main__':
    main()
