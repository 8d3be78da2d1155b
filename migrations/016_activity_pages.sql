-- 016_activity_pages.sql: indexes for the dashboard's activity views
-- (scripts/web/admin/activity.lua, the customer page): the list pages by
-- (created_at, id) and filters by entity or by staff member, each keyset
-- page reading only the rows it shows however long the log grows (the
-- benchmark's million rows). 014's activity index is on coalesce(created_at),
-- an expression these queries do not write.
CREATE INDEX idx_activity_page ON activity_log (created_at, id);
CREATE INDEX idx_activity_entity_page ON activity_log (entity_id, created_at, id) WHERE entity_id IS NOT NULL;
CREATE INDEX idx_activity_actor_page ON activity_log (actor_id, created_at, id) WHERE actor_id IS NOT NULL;
