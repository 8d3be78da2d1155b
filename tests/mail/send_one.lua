-- wm run tests/mail/send_one.lua CAMPAIGN_ID: the real send stage for one
-- campaign in a process of its own (the kill -9 test kills it mid-send);
-- prints the stage's outcome.
local o = require("stages.send").run({ id = 0, kind = "send", attempt = 1, max_attempts = 5,
                                       payload = { campaign_id = arg[1] } })
print(tostring(o))
