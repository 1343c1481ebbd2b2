# Every target is one line calling into scripts/; see README.md.
.PHONY: build test lint bench demo fuzz soak scale

build:
	scripts/build

test:
	scripts/test

lint:
	scripts/lint

bench:
	scripts/bench

demo:
	scripts/demo

fuzz:
	scripts/fuzz 60s

soak:
	scripts/soak

scale:
	scripts/scale
