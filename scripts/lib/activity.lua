-- The audit trail: one activity_log row per state change, written in the
-- same transaction as the change when there is one.
local _M = {}

-- log(action, entity_type, entity_id, details[, actor_type[, actor_id]])
function _M.log(action, entity_type, entity_id, details, actor_type, actor_id)
    return wm.db.run([[INSERT INTO activity_log (action, entity_type, entity_id, details, actor_type, actor_id)
                       VALUES ($1, $2, $3::uuid, $4::jsonb, $5, $6::uuid)]],
                     action, entity_type, entity_id, details or {}, actor_type or "system", actor_id)
end

return _M
