-- Reference data for leads: name parts and phrases per industry (for the
-- simulated lead source), the default grid's cities (area code, ZIP prefix,
-- centre, time zone), US state names, the chain brands the qualifier knows,
-- and the hosts that are not a business's own website (social profiles,
-- booking platforms, parked-domain services). Data only: no I/O, no state.
local pairs = pairs

local _M = {}

-- Surnames and first names from across the US population; a few carry
-- accents and apostrophes on purpose (slugs and domain guesses must cope).
_M.surnames = {
    "Rivera", "Nguyen", "Johnson", "Patel", "Kowalski", "O'Brien", "García", "Hernández", "Smith", "Williams",
    "Brown", "Jones", "Miller", "Davis", "Rodriguez", "Martinez", "Lopez", "Gonzalez", "Wilson", "Anderson",
    "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris",
    "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Campbell",
    "Mitchell", "Carter", "Roberts", "Kim", "Park", "Chen", "Wong", "Singh", "Okafor", "Haddad",
    "Novak", "Schmidt", "Bianchi", "Russo", "Murphy", "Sullivan", "Kelly", "Brennan", "Yamamoto", "Tanaka",
    "Castillo", "Delgado", "Mendoza", "Vargas", "Reyes", "Washington", "Brooks", "Bennett", "Fischer", "Larsen",
    "Olsen", "Petrov", "Abernathy", "Whitaker", "Dunn", "McAllister", "Nowak", "Duarte", "Chávez", "Ibrahim",
}

_M.first_names = {
    "Tony", "Maria", "Luis", "Sam", "Dave", "Mike", "Carlos", "Rosa", "Linh", "Priya",
    "Jamal", "Keisha", "Omar", "Elena", "Frank", "Joe", "Nick", "Ana", "Grace", "Ben",
    "Sofia", "Marco", "Hector", "Tasha", "Derek", "Jenny", "Kevin", "Aisha", "Trevor", "Lucia",
    "Ray", "Gina", "Bill", "Hank", "Rick", "Nina", "Sara", "Wes", "Dominic", "Tom",
    "Ivy", "Cole", "Dana", "Mei", "Raj", "Yusuf", "Chloe", "Paige", "Theo", "Hugo",
    "Renée", "José", "Bao", "Tamika", "Gus", "Irene", "Felix", "Marisol", "Andre", "Kat",
}

-- Neighbourhood-style words that fit any US city.
_M.places = {
    "Northside", "Eastside", "Westside", "Southside", "Riverside", "Hillcrest", "Lakeview", "Oak Park",
    "Cedar Ridge", "Summit", "Pinecrest", "Maple Grove", "Old Town", "Midtown", "Uptown", "Heritage",
    "Capitol", "Parkside", "Brookside", "Highland", "Sunset", "Magnolia", "Willow Creek", "Stonebridge",
    "Fairview", "Red Oak", "Canyon", "Bayside", "Prairie", "Mission",
}

_M.adjectives = {
    "Reliable", "Precision", "Honest", "Premier", "Quality", "Superior", "Trusty", "True Blue", "Rapid",
    "All-Star", "Ace", "Top Notch", "Affordable", "First Choice", "Blue Ribbon", "Elite", "Family",
    "Friendly", "Hometown", "Neighborhood", "Straightline", "Golden Rule", "Pioneer", "Keystone",
}

local trade_patterns = {
    "{S} & Sons {T}", "{S} {T}", "{S} Brothers {T}", "{F}'s {T}", "{A} {T}", "{P} {T}", "{C} {T} Pros",
    "{S} & {S2} {T}", "{S} {T} LLC", "{S} Family {T}", "{A} {T} Co.", "{P} {T}",
}

-- industry (lower-case, as in coverage_grid.industry) -> what a simulated
-- place and its reviews are made of. `patterns` are tried with {S} surname,
-- {S2} another surname, {F} first name, {A} adjective, {P} place word, {C}
-- city, {T} trade word. `hours` names a working-hours shape below.
_M.industries = {
    ["plumber"] = {
        category = "Plumber",
        subtypes = { "Plumber", "Drainage service", "Water heater installation service", "Emergency plumber",
                     "Septic system service", "Bathroom remodeler" },
        trades = { "Plumbing", "Plumbing & Drain", "Plumbing Services", "Plumbing & Rooter", "Plumbing and Heating" },
        patterns = trade_patterns,
        extra_names = { "Clear Flow Plumbing", "Straight Pipe Plumbing", "Drip Stop Plumbing", "Copper Creek Plumbing" },
        services = { "water heater replacement", "drain cleaning", "leak repair", "repipe", "garbage disposal install",
                     "sewer line inspection", "toilet replacement" },
        problems = { "a leaking water heater", "a clogged kitchen drain", "a burst pipe under the sink",
                     "a running toilet", "no hot water", "a slab leak" },
        role = "plumber", price = { 95, 1400 }, hours = "trade",
        booking = "https://book.housecallpro.com/book/%s/%s",
        email_titles = { "Owner", "Master Plumber", "Office Manager" },
        description = "Licensed plumbers for repairs, drains and water heaters. Family owned, upfront pricing.",
        chains = { "Roto-Rooter Plumbing & Water Cleanup", "Mr. Rooter Plumbing", "Benjamin Franklin Plumbing",
                   "ARS / Rescue Rooter" },
    },
    ["electrician"] = {
        category = "Electrician",
        subtypes = { "Electrician", "Electrical installation service", "Lighting contractor", "Generator shop",
                     "Electrical repair shop" },
        trades = { "Electric", "Electrical Services", "Electric Co.", "Electrical Contractors", "Wiring & Lighting" },
        patterns = trade_patterns,
        extra_names = { "Bright Spark Electric", "Live Wire Electrical", "Volt Brothers Electric", "Current Electric" },
        services = { "panel upgrade", "EV charger install", "ceiling fan install", "rewiring", "outlet repair",
                     "generator hookup" },
        problems = { "half the house losing power", "a breaker that kept tripping", "flickering lights",
                     "a scorched outlet" },
        role = "electrician", price = { 120, 3200 }, hours = "trade",
        booking = "https://book.housecallpro.com/book/%s/%s",
        email_titles = { "Owner", "Master Electrician", "Dispatcher" },
        description = "Residential and commercial electrical work, panel upgrades and EV chargers.",
        chains = { "Mister Sparky", "Mr. Electric" },
    },
    ["roofing contractor"] = {
        category = "Roofing contractor",
        subtypes = { "Roofing contractor", "Gutter cleaning service", "Siding contractor", "Construction company" },
        trades = { "Roofing", "Roofing & Restoration", "Roofing Co.", "Roofing & Gutters", "Roof Repair" },
        patterns = trade_patterns,
        extra_names = { "Top Notch Roofing", "Ridgeline Roofing", "Shingle Masters", "High Pitch Roofing" },
        services = { "roof replacement", "leak repair", "gutter install", "storm damage inspection", "shingle repair" },
        problems = { "a leak over the bedroom after the storm", "missing shingles after hail", "sagging gutters" },
        role = "roofer", price = { 300, 14000 }, hours = "trade",
        booking = "https://book.housecallpro.com/book/%s/%s",
        email_titles = { "Owner", "Project Manager", "Estimator" },
        description = "Roof repair and replacement, storm damage and insurance claims help.",
        chains = { "Mighty Dog Roofing", "Power Home Remodeling" },
    },
    ["hvac contractor"] = {
        category = "HVAC contractor",
        subtypes = { "HVAC contractor", "Air conditioning contractor", "Heating contractor", "Furnace repair service",
                     "Air duct cleaning service" },
        trades = { "Heating & Air", "Heating & Cooling", "HVAC", "Air Conditioning & Heating", "Comfort Systems" },
        patterns = trade_patterns,
        extra_names = { "Cool Breeze HVAC", "Polar Bear Air", "Four Seasons Heating & Air", "Comfort Zone HVAC" },
        services = { "AC tune-up", "furnace repair", "new AC install", "duct cleaning", "heat pump replacement",
                     "thermostat install" },
        problems = { "the AC dying in the middle of July", "a furnace that wouldn't light", "warm air from every vent" },
        role = "tech", price = { 89, 9800 }, hours = "trade",
        booking = "https://book.housecallpro.com/book/%s/%s",
        email_titles = { "Owner", "Service Manager", "Office Manager" },
        description = "Heating and air conditioning repair, maintenance plans and new systems.",
        chains = { "One Hour Heating & Air Conditioning", "Aire Serv", "Service Experts Heating & Air Conditioning" },
    },
    ["landscaper"] = {
        category = "Landscaper",
        subtypes = { "Landscaper", "Landscape designer", "Lawn care service", "Tree service", "Irrigation equipment supplier" },
        trades = { "Landscaping", "Lawn & Landscape", "Landscape Design", "Outdoor Services", "Lawn Care" },
        patterns = trade_patterns,
        extra_names = { "Evergreen Landscaping", "Green Thumb Lawn Care", "Native Roots Landscapes", "Fresh Cut Lawns" },
        services = { "weekly mowing", "new flower beds", "sod install", "sprinkler repair", "tree trimming",
                     "backyard patio" },
        problems = { "a yard that was pure weeds", "a broken sprinkler system", "dead grass after the drought" },
        role = "crew lead", price = { 45, 6500 }, hours = "trade",
        booking = "https://clienthub.getjobber.com/booking/%s/%s",
        email_titles = { "Owner", "Designer", "Crew Manager" },
        description = "Lawn care, landscape design and irrigation for homes and small businesses.",
        chains = { "TruGreen", "The Grounds Guys", "BrightView" },
    },
    ["house cleaning service"] = {
        category = "House cleaning service",
        subtypes = { "House cleaning service", "Janitorial service", "Commercial cleaning service", "Carpet cleaning service" },
        trades = { "Cleaning Co.", "Cleaning Services", "Home Cleaning", "Maid Service", "Cleaning Crew" },
        patterns = { "{F}'s {T}", "{S} {T}", "{A} {T}", "{P} {T}", "Sparkle {P} Cleaning", "{S} & {S2} {T}",
                     "{F} & {F2}'s {T}", "{C} {T}" },
        extra_names = { "Fresh Start Cleaning Services", "Spotless Living", "Dust Bunnies Cleaning", "Tidy Nest" },
        services = { "deep clean", "move-out clean", "biweekly cleaning", "post-construction cleanup", "carpet shampoo" },
        problems = { "a move-out inspection in two days", "a house after a three-year-old's party" },
        role = "cleaner", price = { 110, 480 }, hours = "office",
        booking = "https://book.squareup.com/appointments/%s/%s",
        email_titles = { "Owner", "Scheduling" },
        description = "Recurring and one-time home cleaning. Insured, background-checked cleaners.",
        chains = { "Molly Maid", "Merry Maids", "The Maids", "MaidPro", "Two Maids" },
    },
    ["auto repair shop"] = {
        category = "Auto repair shop",
        subtypes = { "Auto repair shop", "Brake shop", "Oil change service", "Transmission shop", "Tire shop",
                     "Auto body shop" },
        trades = { "Auto Repair", "Automotive", "Auto Care", "Garage", "Auto Service" },
        patterns = { "{F}'s {T}", "{S} {T}", "{S} Brothers {T}", "{P} {T}", "{A} {T}", "{S} & Sons {T}",
                     "{C} {T} Center", "{S} Family {T}" },
        extra_names = { "Wrench Works", "Pit Stop Auto", "Gearhead Garage", "Honest Mechanic" },
        services = { "brake job", "timing belt", "oil change", "AC recharge", "transmission flush", "alignment" },
        problems = { "a check engine light two days before a road trip", "brakes grinding", "a car that wouldn't start" },
        role = "mechanic", price = { 45, 2400 }, hours = "shop",
        booking = "https://www.autoshopbooking.com/%s/%s",
        email_titles = { "Owner", "Service Writer", "Shop Manager" },
        description = "Honest auto repair: brakes, engines, AC and diagnostics on all makes.",
        chains = { "Jiffy Lube", "Midas", "Meineke Car Care Center", "Firestone Complete Auto Care", "Pep Boys",
                   "Christian Brothers Automotive", "Valvoline Instant Oil Change" },
    },
    ["dentist"] = {
        category = "Dentist",
        subtypes = { "Dentist", "Cosmetic dentist", "Pediatric dentist", "Dental clinic", "Emergency dental service" },
        trades = { "Dental", "Family Dentistry", "Dental Care", "Dental Studio", "Dental Group" },
        patterns = { "{S} {T}", "{P} {T}", "Dr. {F} {S}, DDS", "{A} Smiles {T}", "{S} & {S2} {T}", "{C} {T}",
                     "{P} Smile Studio", "{S} Family Dentistry" },
        extra_names = { "Gentle Touch Dental", "Bright Smile Dental Care", "Happy Teeth Pediatric Dentistry" },
        services = { "cleaning", "crown", "filling", "Invisalign consult", "emergency extraction", "whitening" },
        problems = { "a cracked molar on a Saturday", "years of avoiding the dentist", "a lost filling" },
        role = "hygienist", price = { 95, 2200 }, hours = "clinic",
        booking = "https://www.zocdoc.com/practice/%s-%s",
        email_titles = { "Office Manager", "DDS", "Front Desk" },
        description = "General, cosmetic and family dentistry. New patients welcome.",
        chains = { "Aspen Dental", "Western Dental", "Bright Now! Dental", "Coast Dental", "Gentle Dental" },
    },
    ["hair salon"] = {
        category = "Hair salon",
        subtypes = { "Hair salon", "Beauty salon", "Barber shop", "Hair extension technician", "Nail salon" },
        trades = { "Hair Studio", "Salon", "Hair Co.", "Hair Lounge", "Beauty Bar" },
        patterns = { "Salon {F}", "{F}'s {T}", "{P} {T}", "The {P} {T}", "{F} & Co. {T}", "{S} {T}" },
        extra_names = { "Shear Elegance", "Mane Street Salon", "Curl Up & Dye", "The Chair Hair Studio",
                        "Blonde & Bold", "Strands Salon" },
        services = { "balayage", "cut and color", "prom updo", "keratin treatment", "men's fade", "highlights" },
        problems = { "a box-dye disaster", "hair that never holds a curl", "a last-minute wedding updo" },
        role = "stylist", price = { 35, 320 }, hours = "salon",
        booking = "https://www.vagaro.com/%s%s",
        email_titles = { "Owner", "Stylist", "Salon Manager" },
        description = "Cuts, color and styling in a relaxed studio. Walk-ins when chairs are free.",
        chains = { "Great Clips", "Supercuts", "Sport Clips Haircuts", "Fantastic Sams", "Cost Cutters", "SmartStyle" },
    },
    ["bakery"] = {
        category = "Bakery",
        subtypes = { "Bakery", "Cake shop", "Pastry shop", "Coffee shop", "Dessert shop", "Wedding bakery" },
        trades = { "Bakery", "Bakeshop", "Bake House", "Pastry Shop", "Bread Co." },
        patterns = { "{F}'s {T}", "{S} Family {T}", "Panadería {S}", "{P} {T}", "Sweet {F}'s", "{A} {T}",
                     "{C} {T}", "{P} Bread Co." },
        extra_names = { "Golden Crust Bakery", "Rise & Shine Bakeshop", "Flour & Salt Bakehouse",
                        "La Petite Boulangerie", "Crumb & Co.", "Butter Bell Bakery" },
        services = { "custom birthday cake", "sourdough loaf", "dozen conchas", "wedding cake", "kolaches",
                     "croissants" },
        problems = { "a last-minute order for 40 people", "a gluten-free cake for my son's party" },
        role = "baker", price = { 4, 450 }, hours = "bakery",
        order = "https://www.doordash.com/store/%s-%s/",
        email_titles = { "Owner", "Head Baker", "Orders" },
        description = "Fresh bread, pastries and custom cakes baked every morning.",
        chains = { "Nothing Bundt Cakes", "Crumbl Cookies", "Paris Baguette", "85°C Bakery Cafe", "Great Harvest Bread Co." },
    },
    ["locksmith"] = {
        category = "Locksmith",
        subtypes = { "Locksmith", "Key duplication service", "Safe & vault shop", "Security system supplier" },
        trades = { "Locksmith", "Lock & Key", "Lock & Safe", "Locksmith Services", "Security Locksmith" },
        patterns = { "{A} {T}", "{F}'s {T}", "{P} {T}", "{S} {T}", "24/7 {C} {T}", "{S} & Sons {T}" },
        extra_names = { "Key Masters", "Pop Lock Pros", "Deadbolt Locksmith", "Open Sesame Lock & Key" },
        services = { "rekey", "car lockout", "smart lock install", "safe opening", "key fob programming" },
        problems = { "locking my keys in the car at 2am", "a lost house key", "a jammed deadbolt" },
        role = "locksmith", price = { 65, 350 }, hours = "always",
        email_titles = { "Owner", "Dispatch" },
        description = "Mobile locksmith for homes, cars and businesses. Fast response.",
        chains = { "Pop-A-Lock" },
    },
    ["pest control service"] = {
        category = "Pest control service",
        subtypes = { "Pest control service", "Termite control service", "Wildlife removal service", "Mosquito control service" },
        trades = { "Pest Control", "Exterminating", "Pest Solutions", "Termite & Pest", "Pest Management" },
        patterns = { "{S} {T}", "{A} {T}", "{P} {T}", "{S} & Sons {T}", "{C} {T}", "{F}'s {T}" },
        extra_names = { "Bug Busters", "No More Critters", "Green Shield Pest Control", "Critter Gitter" },
        services = { "quarterly treatment", "termite inspection", "rodent exclusion", "mosquito spray", "bed bug treatment" },
        problems = { "mice in the attic", "ants everywhere in the kitchen", "a wasp nest by the front door",
                     "termites in the deck" },
        role = "technician", price = { 75, 1600 }, hours = "trade",
        booking = "https://clienthub.getjobber.com/booking/%s/%s",
        email_titles = { "Owner", "Office Manager" },
        description = "Family owned pest control: ants, roaches, rodents and termites.",
        chains = { "Terminix", "Orkin", "Truly Nolen", "Aptive Environmental", "Rentokil", "Mosquito Joe" },
    },
}

-- Anything not in the table above gets these, with the industry's own words.
_M.generic = {
    subtypes = {},
    patterns = { "{S} {T}", "{A} {T}", "{P} {T}", "{F}'s {T}", "{S} & Sons {T}", "{C} {T}" },
    extra_names = {},
    services = { "service call", "estimate", "repair", "installation", "consultation" },
    problems = { "a problem nobody else would take on", "a last-minute job" },
    role = "team", price = { 50, 900 }, hours = "office",
    email_titles = { "Owner", "Manager" },
    chains = {},
}

-- Working hours in Outscraper's shape (day -> "open-close" | "Closed" |
-- "Open 24 hours").
_M.hours = {
    trade = { "7AM-6PM", "7AM-6PM", "7AM-6PM", "7AM-6PM", "7AM-6PM", "8AM-2PM", "Closed" },
    office = { "8AM-5PM", "8AM-5PM", "8AM-5PM", "8AM-5PM", "8AM-5PM", "9AM-1PM", "Closed" },
    shop = { "7:30AM-6PM", "7:30AM-6PM", "7:30AM-6PM", "7:30AM-6PM", "7:30AM-6PM", "8AM-3PM", "Closed" },
    clinic = { "8AM-5PM", "8AM-5PM", "8AM-5PM", "8AM-5PM", "8AM-1PM", "Closed", "Closed" },
    salon = { "Closed", "10AM-7PM", "10AM-7PM", "10AM-8PM", "10AM-8PM", "9AM-5PM", "Closed" },
    bakery = { "6AM-3PM", "6AM-3PM", "6AM-3PM", "6AM-3PM", "6AM-4PM", "7AM-4PM", "7AM-1PM" },
    always = { "Open 24 hours", "Open 24 hours", "Open 24 hours", "Open 24 hours", "Open 24 hours",
               "Open 24 hours", "Open 24 hours" },
}
_M.days = { "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday" }

-- The default grid's cities: area code, first three ZIP digits, centre,
-- time zone. Keyed "City|ST".
local function city(ac, zip, lat, lng, tz)
    return { area_code = ac, zip3 = zip, lat = lat, lng = lng, tz = tz }
end
local ET, CT, MT, PT, AZ = "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
    "America/Phoenix"
_M.cities = {
    ["Mesa|AZ"] = city("480", "852", 33.4152, -111.8315, AZ),
    ["Phoenix|AZ"] = city("602", "850", 33.4484, -112.0740, AZ),
    ["Tucson|AZ"] = city("520", "857", 32.2226, -110.9747, AZ),
    ["Fresno|CA"] = city("559", "937", 36.7378, -119.7871, PT),
    ["Los Angeles|CA"] = city("213", "900", 34.0522, -118.2437, PT),
    ["Sacramento|CA"] = city("916", "958", 38.5816, -121.4944, PT),
    ["San Diego|CA"] = city("619", "921", 32.7157, -117.1611, PT),
    ["San Francisco|CA"] = city("415", "941", 37.7749, -122.4194, PT),
    ["San Jose|CA"] = city("408", "951", 37.3382, -121.8863, PT),
    ["Colorado Springs|CO"] = city("719", "809", 38.8339, -104.8214, MT),
    ["Denver|CO"] = city("303", "802", 39.7392, -104.9903, MT),
    ["Jacksonville|FL"] = city("904", "322", 30.3322, -81.6557, ET),
    ["Miami|FL"] = city("305", "331", 25.7617, -80.1918, ET),
    ["Orlando|FL"] = city("407", "328", 28.5383, -81.3792, ET),
    ["Tampa|FL"] = city("813", "336", 27.9506, -82.4572, ET),
    ["Atlanta|GA"] = city("404", "303", 33.7490, -84.3880, ET),
    ["Savannah|GA"] = city("912", "314", 32.0809, -81.0912, ET),
    ["Des Moines|IA"] = city("515", "503", 41.5868, -93.6250, CT),
    ["Boise|ID"] = city("208", "837", 43.6150, -116.2023, "America/Boise"),
    ["Chicago|IL"] = city("312", "606", 41.8781, -87.6298, CT),
    ["Indianapolis|IN"] = city("317", "462", 39.7684, -86.1581, "America/Indiana/Indianapolis"),
    ["New Orleans|LA"] = city("504", "701", 29.9511, -90.0715, CT),
    ["Boston|MA"] = city("617", "021", 42.3601, -71.0589, ET),
    ["Baltimore|MD"] = city("410", "212", 39.2904, -76.6122, ET),
    ["Detroit|MI"] = city("313", "482", 42.3314, -83.0458, "America/Detroit"),
    ["Minneapolis|MN"] = city("612", "554", 44.9778, -93.2650, CT),
    ["Kansas City|MO"] = city("816", "641", 39.0997, -94.5786, CT),
    ["St. Louis|MO"] = city("314", "631", 38.6270, -90.1994, CT),
    ["Charlotte|NC"] = city("704", "282", 35.2271, -80.8431, ET),
    ["Raleigh|NC"] = city("919", "276", 35.7796, -78.6382, ET),
    ["Omaha|NE"] = city("402", "681", 41.2565, -95.9345, CT),
    ["Albuquerque|NM"] = city("505", "871", 35.0844, -106.6504, MT),
    ["Las Vegas|NV"] = city("702", "891", 36.1699, -115.1398, PT),
    ["New York|NY"] = city("212", "100", 40.7128, -74.0060, ET),
    ["Cincinnati|OH"] = city("513", "452", 39.1031, -84.5120, ET),
    ["Cleveland|OH"] = city("216", "441", 41.4993, -81.6944, ET),
    ["Columbus|OH"] = city("614", "432", 39.9612, -82.9988, ET),
    ["Oklahoma City|OK"] = city("405", "731", 35.4676, -97.5164, CT),
    ["Portland|OR"] = city("503", "972", 45.5152, -122.6784, PT),
    ["Philadelphia|PA"] = city("215", "191", 39.9526, -75.1652, ET),
    ["Pittsburgh|PA"] = city("412", "152", 40.4406, -79.9959, ET),
    ["Knoxville|TN"] = city("865", "379", 35.9606, -83.9207, ET),
    ["Memphis|TN"] = city("901", "381", 35.1495, -90.0490, CT),
    ["Nashville|TN"] = city("615", "372", 36.1627, -86.7816, CT),
    ["Austin|TX"] = city("512", "787", 30.2672, -97.7431, CT),
    ["Dallas|TX"] = city("214", "752", 32.7767, -96.7970, CT),
    ["El Paso|TX"] = city("915", "799", 31.7619, -106.4850, MT),
    ["Fort Worth|TX"] = city("817", "761", 32.7555, -97.3308, CT),
    ["Houston|TX"] = city("713", "770", 29.7604, -95.3698, CT),
    ["San Antonio|TX"] = city("210", "782", 29.4241, -98.4936, CT),
    ["Salt Lake City|UT"] = city("801", "841", 40.7608, -111.8910, MT),
    ["Richmond|VA"] = city("804", "232", 37.5407, -77.4360, ET),
    ["Seattle|WA"] = city("206", "981", 47.6062, -122.3321, PT),
    ["Milwaukee|WI"] = city("414", "532", 43.0389, -87.9065, CT),
}

-- Area codes to draw from for a city not in the table (all real, all
-- geographic).
_M.fallback_area_codes = { "201", "231", "251", "269", "309", "319", "330", "341", "360", "385", "417", "432",
                           "469", "479", "501", "541", "559", "563", "574", "605", "608", "620", "636", "660",
                           "701", "712", "757", "760", "785", "806", "843", "870", "903", "920", "940", "970" }

_M.states = {
    AL = "Alabama", AK = "Alaska", AZ = "Arizona", AR = "Arkansas", CA = "California", CO = "Colorado",
    CT = "Connecticut", DE = "Delaware", DC = "District of Columbia", FL = "Florida", GA = "Georgia",
    HI = "Hawaii", ID = "Idaho", IL = "Illinois", IN = "Indiana", IA = "Iowa", KS = "Kansas", KY = "Kentucky",
    LA = "Louisiana", ME = "Maine", MD = "Maryland", MA = "Massachusetts", MI = "Michigan", MN = "Minnesota",
    MS = "Mississippi", MO = "Missouri", MT = "Montana", NE = "Nebraska", NV = "Nevada", NH = "New Hampshire",
    NJ = "New Jersey", NM = "New Mexico", NY = "New York", NC = "North Carolina", ND = "North Dakota",
    OH = "Ohio", OK = "Oklahoma", OR = "Oregon", PA = "Pennsylvania", RI = "Rhode Island",
    SC = "South Carolina", SD = "South Dakota", TN = "Tennessee", TX = "Texas", UT = "Utah", VT = "Vermont",
    VA = "Virginia", WA = "Washington", WV = "West Virginia", WI = "Wisconsin", WY = "Wyoming",
    PR = "Puerto Rico",
}
_M.state_codes = {}
for code, name in pairs(_M.states) do
    _M.state_codes[name:lower()] = code
end

-- Country names as lead sources spell them -> ISO code.
_M.countries = {
    ["us"] = "US", ["usa"] = "US", ["united states"] = "US", ["united states of america"] = "US",
    ["guatemala"] = "GT", ["mexico"] = "MX", ["méxico"] = "MX", ["canada"] = "CA", ["puerto rico"] = "PR",
}

_M.street_names = {
    "Main St", "Oak St", "Cedar Ave", "Elm St", "Maple Ave", "Washington Blvd", "Park Ave", "Lake Dr",
    "Industrial Blvd", "Commerce St", "Pine St", "Broadway", "Market St", "Church St", "Ridge Rd",
    "Martin Luther King Jr Blvd", "Cesar Chavez St", "Airport Rd", "Highland Ave", "W 7th St", "E 12th St",
    "N Lamar Blvd", "S Congress Ave", "Old Mill Rd", "Sunset Blvd", "Jefferson St", "Lincoln Way",
    "River Rd", "Center St", "Grand Ave",
}

-- Chain brands (lower-case, punctuation as written; the qualifier
-- compares word by word). Each industry's own list above is included.
local chains = {
    "roto-rooter", "mr. rooter", "benjamin franklin plumbing", "rescue rooter", "mister sparky", "mr. electric",
    "one hour heating", "aire serv", "service experts", "mr. handyman", "mighty dog roofing", "trugreen",
    "the grounds guys", "brightview", "molly maid", "merry maids", "the maids", "maidpro", "two maids",
    "jiffy lube", "midas", "meineke", "firestone complete auto care", "pep boys", "goodyear auto service",
    "valvoline instant oil change", "christian brothers automotive", "monro auto service", "take 5 oil change",
    "aspen dental", "western dental", "bright now! dental", "coast dental", "gentle dental", "heartland dental",
    "great clips", "supercuts", "sport clips", "fantastic sams", "cost cutters", "smartstyle", "regis salons",
    "hair cuttery", "nothing bundt cakes", "crumbl", "paris baguette", "85°c bakery", "great harvest",
    "panera bread", "pop-a-lock", "terminix", "orkin", "truly nolen", "aptive environmental", "rentokil",
    "mosquito joe", "mosquito authority", "ehrlich pest control", "servpro", "servicemaster", "stanley steemer",
    "chem-dry",
}
_M.chains = chains

-- Hosts (and their subdomains) that are a profile or a listing, not the
-- business's own website. A Facebook page is never a website.
_M.social_hosts = {
    "facebook.com", "fb.com", "fb.me", "m.facebook.com", "instagram.com", "twitter.com", "x.com", "tiktok.com",
    "linkedin.com", "youtube.com", "youtu.be", "pinterest.com", "yelp.com", "nextdoor.com", "linktr.ee",
    "google.com", "g.page", "goo.gl", "maps.app.goo.gl", "business.site", "bbb.org", "angi.com",
    "angieslist.com", "homeadvisor.com", "thumbtack.com", "houzz.com", "yellowpages.com", "mapquest.com",
    "wa.me", "whatsapp.com",
}

-- Booking and ordering platforms: a link to one counts as a web presence,
-- but is not a domain of the business's own.
_M.booking_hosts = {
    "vagaro.com", "styleseat.com", "booksy.com", "squareup.com", "square.site", "schedulicity.com",
    "housecallpro.com", "getjobber.com", "zocdoc.com", "calendly.com", "acuityscheduling.com", "fresha.com",
    "doordash.com", "ubereats.com", "grubhub.com", "toasttab.com", "clover.com", "opentable.com",
    "autoshopbooking.com", "mindbodyonline.com", "setmore.com", "gloriafood.com", "chownow.com",
}

-- Mail providers and reserved domains: an address there says nothing about
-- a website of the business's own.
_M.free_mail_domains = {
    "gmail.com", "googlemail.com", "yahoo.com", "ymail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
    "aol.com", "icloud.com", "me.com", "mac.com", "comcast.net", "att.net", "sbcglobal.net", "verizon.net",
    "bellsouth.net", "cox.net", "charter.net", "earthlink.net", "protonmail.com", "proton.me", "gmx.com",
    "mail.com", "zoho.com", "yandex.com", "example.com", "example.net", "example.org",
}

-- Hosts a parked or for-sale domain redirects to, and phrases on such pages.
_M.parking_hosts = {
    "sedoparking.com", "sedo.com", "parkingcrew.net", "bodis.com", "afternic.com", "dan.com", "hugedomains.com",
    "above.com", "parklogic.com", "domainmarket.com", "undeveloped.com", "buydomains.com", "uniregistry.com",
}
_M.parking_phrases = {
    "this domain is for sale", "domain is for sale", "buy this domain", "this domain may be for sale",
    "domain name is for sale", "this domain is parked", "parked free, courtesy of", "domain parking",
}

return _M
