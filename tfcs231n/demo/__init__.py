"""`tfcs231n demo`: `run` drives the sections (one module each: `captioning`,
`visualization`, `style`, `gan`, `vision`; parity and speed in `run`) and writes the
report (`report` holds its pieces, `html` renders them)."""
