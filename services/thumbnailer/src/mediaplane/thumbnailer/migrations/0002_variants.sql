-- On-demand variants (docs/architecture.md, the thumbnailer README).
--
-- variant_sources: this service's own projection of the files it may make
-- variants of, from file.uploaded / verified / rejected / deleted. The status
-- only moves up the ranks (uploaded < ready < rejected < deleted), so arrival
-- order and redelivery do not change it.
CREATE TABLE variant_sources (
    file_id     uuid        PRIMARY KEY,
    owner       text        NOT NULL,
    status      text        NOT NULL CHECK (status IN ('uploaded', 'ready', 'rejected', 'deleted')),
    sha256      text,
    size        bigint,
    kind        text,
    media_type  text,
    bucket      text,
    object_key  text,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (status <> 'ready' OR sha256 IS NOT NULL)
);
CREATE INDEX variant_sources_sha256 ON variant_sources (sha256) WHERE status = 'ready';

-- variants: one row per (source bytes, normalized spec), written in the same
-- transaction as the variant.* event it mirrors. A failed variant is kept:
-- asking again answers its code without decoding the source again.
CREATE TABLE variants (
    sha256          text        NOT NULL,
    spec            text        NOT NULL,
    file_id         uuid        NOT NULL,
    status          text        NOT NULL CHECK (status IN ('generated', 'failed')),
    bucket          text,
    key             text,
    width           integer,
    height          integer,
    format          text,
    size            bigint,
    failure_code    text,
    failure_detail  text,
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (sha256, spec),
    CHECK ((status = 'generated') = (key IS NOT NULL)),
    CHECK ((status = 'failed') = (failure_code IS NOT NULL))
);
