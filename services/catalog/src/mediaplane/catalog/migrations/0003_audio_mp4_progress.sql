-- Issue 15: audio ladders with a waveform, the progressive MP4 fallback of videos,
-- and the live progress of a running transcode (all from transcode.* events).
ALTER TABLE files
    ADD COLUMN transcode_progress double precision,
    ADD COLUMN mp4_key            text,
    ADD COLUMN mp4_width          integer,
    ADD COLUMN mp4_height         integer,
    ADD COLUMN mp4_size           bigint,
    ADD COLUMN waveform_key       text;
