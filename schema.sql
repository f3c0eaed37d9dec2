-- Massar Sync domain schema: loaded as migration 1 by the school node and
-- the central server alike. Sync bookkeeping lives in later migrations of
-- each side, never here.
--
-- Conventions
--   * Every synced table has a natural primary key (no surrogate ids: they
--     would cost bytes on the wire and differ between replicas).
--   * School-owned tables carry `school`, the owning school's code; a node
--     may write only rows whose `school` is its own.
--   * National tables (levels, subjects, evaluation_rules, exam_calendar,
--     guidance_notes) are published by the centre; nodes only read them.
--   * Marks are stored as integer hundredths of a point (12.25 -> 1225):
--     exact, and small on the wire.
--   * Dates are ISO text `YYYY-MM-DD`; school years are `2026/2027`.

-- Reference data ---------------------------------------------------------

CREATE TABLE IF NOT EXISTS academies (
    code TEXT PRIMARY KEY,
    name_ar TEXT NOT NULL,
    name_fr TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS directorates (
    code TEXT PRIMARY KEY,
    academy TEXT NOT NULL REFERENCES academies(code),
    name_ar TEXT NOT NULL,
    name_fr TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS schools (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_ar TEXT,
    commune TEXT,
    directorate TEXT,
    rural INTEGER NOT NULL DEFAULT 0 CHECK (rural IN (0, 1)),
    -- a satellite unit (école satellite) belongs to its parent school
    parent_school TEXT REFERENCES schools(code)
);

-- Massar's level codes (1APG, 1ASCG, 1APIC, TCSF, 2BACPCF...), national data the
-- centre may extend. cycle: primary (marks /10), college (/20), lycee (/20);
-- year: the year within the cycle (tronc commun = lycée year 1); ord: the year
-- of schooling, 1..12.
CREATE TABLE IF NOT EXISTS levels (
    code TEXT PRIMARY KEY,
    cycle TEXT NOT NULL CHECK (cycle IN ('primary', 'college', 'lycee')),
    year INTEGER NOT NULL DEFAULT 1 CHECK (year BETWEEN 1 AND 6),
    scale INTEGER NOT NULL CHECK (scale IN (10, 20)),
    ord INTEGER NOT NULL,
    name_ar TEXT NOT NULL,
    name_fr TEXT NOT NULL
);

-- National tables published by the centre --------------------------------

CREATE TABLE IF NOT EXISTS subjects (
    code TEXT PRIMARY KEY,
    name_ar TEXT NOT NULL,
    name_fr TEXT NOT NULL,
    -- Massar's numeric subject code as written in its grade sheets (#0030#)
    massar_code TEXT
);

-- The evaluation rules of a subject in a level, from the school year `since`
-- on (until a later row; the earliest row also covers earlier years): number of
-- supervised tests a semester, the integrated activities' share (an exact
-- fraction as text: '1/4', '1/3', '0'), the averaging formula ('weighted' or
-- 'three_blocks'), the coefficient in the general average (0: no longer taught)
-- and in the level's exam (NULL: not examined). See domain/evaluation.py.
CREATE TABLE IF NOT EXISTS evaluation_rules (
    since TEXT NOT NULL,
    level TEXT NOT NULL,
    subject TEXT NOT NULL,
    tests INTEGER NOT NULL CHECK (tests BETWEEN 1 AND 4),
    activities_weight TEXT NOT NULL,
    formula TEXT NOT NULL CHECK (formula IN ('weighted', 'three_blocks')),
    coefficient INTEGER NOT NULL CHECK (coefficient BETWEEN 0 AND 9),
    exam_coefficient INTEGER CHECK (exam_coefficient IS NULL OR exam_coefficient BETWEEN 1 AND 9),
    PRIMARY KEY (since, level, subject)
);
CREATE INDEX IF NOT EXISTS evaluation_rules_by_level ON evaluation_rules (level, subject, since);

CREATE TABLE IF NOT EXISTS exam_calendar (
    code TEXT PRIMARY KEY,
    exam TEXT NOT NULL
        CHECK (exam IN ('national', 'regional', 'provincial', 'local', 'makeup')),
    level TEXT NOT NULL,
    year TEXT NOT NULL,
    starts_on TEXT NOT NULL,
    ends_on TEXT NOT NULL,
    name_ar TEXT NOT NULL,
    name_fr TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS guidance_notes (
    code TEXT PRIMARY KEY,
    level TEXT,
    published_on TEXT NOT NULL,
    title_ar TEXT NOT NULL,
    title_fr TEXT NOT NULL,
    body_ar TEXT NOT NULL,
    body_fr TEXT NOT NULL
);

-- School-owned tables ----------------------------------------------------

CREATE TABLE IF NOT EXISTS classes (
    school TEXT NOT NULL,
    year TEXT NOT NULL,
    code TEXT NOT NULL,
    level TEXT NOT NULL,
    PRIMARY KEY (school, year, code)
);

-- A pupil registered offline gets a provisional code (TMP-<school>-<n>)
-- until the ministry assigns the Massar code.
CREATE TABLE IF NOT EXISTS pupils (
    code TEXT PRIMARY KEY,
    school TEXT NOT NULL,
    last_name TEXT NOT NULL,
    first_name TEXT NOT NULL,
    last_name_ar TEXT,
    first_name_ar TEXT,
    gender TEXT NOT NULL CHECK (gender IN ('M', 'F')),
    birth_date TEXT,
    birth_place TEXT,
    provisional INTEGER NOT NULL DEFAULT 0 CHECK (provisional IN (0, 1))
);

CREATE TABLE IF NOT EXISTS enrolments (
    school TEXT NOT NULL,
    year TEXT NOT NULL,
    pupil TEXT NOT NULL,
    class TEXT NOT NULL,
    -- a pupil who moves during a year has two: the leaving school's (ended by its
    -- departures row) and the arriving school's
    PRIMARY KEY (school, year, pupil)
);
CREATE INDEX IF NOT EXISTS enrolments_by_class ON enrolments (school, year, class);
CREATE INDEX IF NOT EXISTS enrolments_by_pupil ON enrolments (pupil, year);

CREATE TABLE IF NOT EXISTS guardians (
    school TEXT NOT NULL,
    pupil TEXT NOT NULL,
    n INTEGER NOT NULL,
    name TEXT NOT NULL,
    relation TEXT NOT NULL CHECK (relation IN ('father', 'mother', 'guardian')),
    phone TEXT,
    PRIMARY KEY (pupil, n)
);

-- assessment: 1..4 are the supervised tests (الفروض), 5 the integrated
-- activities (الأنشطة المندمجة). Either a score or absent (justified or not).
CREATE TABLE IF NOT EXISTS grades (
    school TEXT NOT NULL,
    year TEXT NOT NULL,
    pupil TEXT NOT NULL,
    subject TEXT NOT NULL,
    semester INTEGER NOT NULL CHECK (semester IN (1, 2)),
    assessment INTEGER NOT NULL CHECK (assessment BETWEEN 1 AND 5),
    score INTEGER CHECK (score IS NULL OR score BETWEEN 0 AND 2000),
    absent INTEGER NOT NULL DEFAULT 0 CHECK (absent IN (0, 1)),
    justified INTEGER NOT NULL DEFAULT 0 CHECK (justified IN (0, 1)),
    remark TEXT,
    PRIMARY KEY (year, pupil, subject, semester, assessment),
    CHECK ((absent = 1 AND score IS NULL) OR (absent = 0 AND score IS NOT NULL AND justified = 0))
);

-- One row per pupil and day. `hours` is a bit mask of the 8 hour slots
-- (bit 0 = slot 1, the first morning hour; 255 = the full day);
-- `justified` is the subset of those slots that has been justified.
CREATE TABLE IF NOT EXISTS absences (
    school TEXT NOT NULL,
    pupil TEXT NOT NULL,
    day TEXT NOT NULL,
    hours INTEGER NOT NULL CHECK (hours BETWEEN 1 AND 255),
    justified INTEGER NOT NULL DEFAULT 0 CHECK (justified BETWEEN 0 AND 255),
    reason TEXT,
    justified_on TEXT,
    recorded_by TEXT,
    PRIMARY KEY (pupil, day)
);

CREATE TABLE IF NOT EXISTS incidents (
    school TEXT NOT NULL,
    pupil TEXT NOT NULL,
    day TEXT NOT NULL,
    n INTEGER NOT NULL,
    description TEXT NOT NULL,
    measure TEXT,
    PRIMARY KEY (pupil, day, n)
);

CREATE TABLE IF NOT EXISTS orientation_wishes (
    school TEXT NOT NULL,
    year TEXT NOT NULL,
    pupil TEXT NOT NULL,
    rank INTEGER NOT NULL CHECK (rank BETWEEN 1 AND 9),
    choice TEXT NOT NULL,
    PRIMARY KEY (year, pupil, rank)
);

CREATE TABLE IF NOT EXISTS orientation_decisions (
    school TEXT NOT NULL,
    year TEXT NOT NULL,
    pupil TEXT NOT NULL,
    decision TEXT NOT NULL,
    decided_on TEXT,
    PRIMARY KEY (year, pupil)
);

-- Exam marks (local, regional, national, provincial) per subject.
CREATE TABLE IF NOT EXISTS exam_results (
    school TEXT NOT NULL,
    year TEXT NOT NULL,
    pupil TEXT NOT NULL,
    exam TEXT NOT NULL
        CHECK (exam IN ('local', 'regional', 'national', 'provincial', 'makeup')),
    subject TEXT NOT NULL,
    score INTEGER NOT NULL CHECK (score BETWEEN 0 AND 2000),
    PRIMARY KEY (year, pupil, exam, subject)
);

-- Accounts are local to the replica that issued them: passwords never travel.
CREATE TABLE IF NOT EXISTS accounts (
    login TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('secretary', 'teacher', 'director', 'parent')),
    pupil TEXT,
    display_name TEXT,
    password_hash TEXT NOT NULL,
    issued_on TEXT NOT NULL
);
