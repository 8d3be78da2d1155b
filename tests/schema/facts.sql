-- tests/schema/facts.sql: the schema "facts" of the seed tables, one per line, sorted.
--
-- Run with: psql -X -q -A -t -v ON_ERROR_STOP=1 -f tests/schema/facts.sql
-- Two databases have the same seed schema iff the outputs are byte-identical
-- (tests/schema/compare.sh diffs them).
--
-- Only the 13 tables of /work/shared/seed/webmagic-schema.md in schema public are
-- described; anything else (schema_migrations, tables added by later migrations) is
-- ignored. A seed table that is missing shows up as missing lines.
--
-- Fact kinds (fields separated by " | "):
--   table      | name | relkind | persistence
--   column     | table | position among live columns | name | type with length/precision/scale
--              | NOT NULL or NULL | default expression | identity/generated/collation if set
--   constraint | table | type | (columns in order) | referenced table(columns)
--              | ON DELETE action | ON UPDATE action | MATCH | deferrable | definition
--   index      | table | name | definition
-- Constraints are compared by content, not by name (PostgreSQL's generated names are not
-- part of the contract). The same goes for the indexes that back PRIMARY KEY / UNIQUE
-- constraints: their name is replaced by "<pkey>" / "<unique>". Explicitly created
-- indexes are compared by name. "public." qualifications are stripped so that the
-- output does not depend on search_path.
WITH seed(relname) AS (
    VALUES ('coverage_grid'), ('businesses'), ('generated_sites'), ('campaigns'),
           ('customers'), ('subscriptions'), ('payments'), ('prompt_settings'),
           ('prompt_templates'), ('support_tickets'), ('admin_users'),
           ('analytics_snapshots'), ('activity_log')
),
tabs AS (
    SELECT c.oid, c.relname, c.relkind, c.relpersistence, n.nspname
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN seed s ON s.relname = c.relname
    WHERE n.nspname = 'public'
      AND c.relname <> 'schema_migrations'
      AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
),
cols AS (
    SELECT a.attrelid, a.attnum, a.attname,
           row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum) AS pos,
           format_type(a.atttypid, a.atttypmod) AS typ,
           a.attnotnull, a.attidentity, a.attgenerated,
           a.attcollation, t.typcollation,
           pg_get_expr(d.adbin, d.adrelid) AS def
    FROM pg_attribute a
    JOIN tabs ON tabs.oid = a.attrelid
    JOIN pg_type t ON t.oid = a.atttypid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attnum > 0 AND NOT a.attisdropped
),
column_facts AS (
    SELECT concat_ws(' | ',
               'column', tabs.relname, lpad(c.pos::text, 3, '0'), c.attname, c.typ,
               CASE WHEN c.attnotnull THEN 'NOT NULL' ELSE 'NULL' END,
               'default ' || coalesce(c.def, '-'),
               CASE WHEN c.attidentity <> '' THEN 'identity ' || c.attidentity::text END,
               CASE WHEN c.attgenerated <> '' THEN 'generated ' || c.attgenerated::text END,
               CASE WHEN c.attcollation <> c.typcollation
                    THEN 'collate ' || c.attcollation::regcollation::text END
           ) AS fact
    FROM cols c
    JOIN tabs ON tabs.oid = c.attrelid
),
table_facts AS (
    SELECT concat_ws(' | ', 'table', relname, 'relkind ' || relkind::text,
                     'persistence ' || relpersistence::text) AS fact
    FROM tabs
),
cons AS (
    SELECT con.*, tabs.relname, tabs.nspname,
           (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.ord)
            FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
           ) AS cols,
           (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.ord)
            FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum
           ) AS fcols,
           fc.relname AS frelname
    FROM pg_constraint con
    JOIN tabs ON tabs.oid = con.conrelid
    LEFT JOIN pg_class fc ON fc.oid = con.confrelid
),
constraint_facts AS (
    SELECT concat_ws(' | ',
               'constraint', relname,
               CASE contype WHEN 'p' THEN 'PRIMARY KEY' WHEN 'u' THEN 'UNIQUE'
                            WHEN 'f' THEN 'FOREIGN KEY' WHEN 'c' THEN 'CHECK'
                            WHEN 'x' THEN 'EXCLUDE' WHEN 't' THEN 'TRIGGER'
                            ELSE contype::text END,
               '(' || coalesce(cols, '') || ')',
               CASE WHEN contype = 'f' THEN
                   concat_ws(' | ',
                       'references ' || quote_ident(frelname) || '(' || fcols || ')',
                       'on delete ' || CASE confdeltype WHEN 'a' THEN 'NO ACTION'
                           WHEN 'r' THEN 'RESTRICT' WHEN 'c' THEN 'CASCADE'
                           WHEN 'n' THEN 'SET NULL' WHEN 'd' THEN 'SET DEFAULT'
                           ELSE confdeltype::text END,
                       'on update ' || CASE confupdtype WHEN 'a' THEN 'NO ACTION'
                           WHEN 'r' THEN 'RESTRICT' WHEN 'c' THEN 'CASCADE'
                           WHEN 'n' THEN 'SET NULL' WHEN 'd' THEN 'SET DEFAULT'
                           ELSE confupdtype::text END,
                       'match ' || CASE confmatchtype WHEN 's' THEN 'SIMPLE'
                           WHEN 'f' THEN 'FULL' WHEN 'p' THEN 'PARTIAL'
                           ELSE confmatchtype::text END)
               END,
               CASE WHEN condeferrable THEN 'DEFERRABLE' ELSE 'NOT DEFERRABLE' END
                   || CASE WHEN condeferred THEN ' INITIALLY DEFERRED' ELSE '' END,
               CASE WHEN NOT convalidated THEN 'NOT VALID' END,
               'def ' || replace(pg_get_constraintdef(oid),
                                 'REFERENCES ' || quote_ident(nspname) || '.',
                                 'REFERENCES ')
           ) AS fact
    FROM cons
),
idx AS (
    SELECT tabs.relname, tabs.nspname, ic.relname AS iname,
           pg_get_indexdef(i.indexrelid) AS def,
           (SELECT con.contype FROM pg_constraint con
            WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid
              AND con.contype IN ('p', 'u', 'x')
            LIMIT 1) AS backs
    FROM pg_index i
    JOIN tabs ON tabs.oid = i.indrelid
    JOIN pg_class ic ON ic.oid = i.indexrelid
),
index_facts AS (
    SELECT concat_ws(' | ',
               'index', relname,
               CASE backs WHEN 'p' THEN '<pkey>' WHEN 'u' THEN '<unique>'
                          WHEN 'x' THEN '<exclude>' ELSE iname END,
               replace(
                   replace(def, ' ON ' || quote_ident(nspname) || '.', ' ON '),
                   ' INDEX ' || quote_ident(iname) || ' ON ',
                   ' INDEX ' || CASE backs WHEN 'p' THEN '<pkey>' WHEN 'u' THEN '<unique>'
                                           WHEN 'x' THEN '<exclude>'
                                           ELSE quote_ident(iname) END || ' ON ')
           ) AS fact
    FROM idx
)
SELECT fact FROM (
    SELECT fact FROM table_facts
    UNION ALL SELECT fact FROM column_facts
    UNION ALL SELECT fact FROM constraint_facts
    UNION ALL SELECT fact FROM index_facts
) f
ORDER BY fact COLLATE "C";
