-- The household's names and rooms for devices, and the unit each recorded series is in.
CREATE TABLE device_namings (
    id TEXT PRIMARY KEY NOT NULL,
    -- NULL keeps the name the device gives itself.
    name TEXT,
    -- Whether the household chose the room; with room NULL that means "no room".
    room_chosen INTEGER NOT NULL DEFAULT 0,
    room TEXT
);

CREATE TABLE series_units (
    topic TEXT NOT NULL,
    field TEXT NOT NULL,
    unit TEXT NOT NULL,
    PRIMARY KEY (topic, field)
);
