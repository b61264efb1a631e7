# vrapl — see README.md. `make demo` is the main job, `make test` runs the tests.
SWIFT ?= swift
OUT ?= demo-out

.PHONY: all build release test demo bench deps deps-build clean

all: build

deps:
	@scripts/install-deps.sh test

deps-build:
	@scripts/install-deps.sh build

build: deps-build
	$(SWIFT) build

release: deps-build
	$(SWIFT) build -c release

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test

demo: deps release
	@scripts/demo.sh $(OUT)

bench: deps release
	@scripts/bench.sh

clean:
	rm -rf .build $(OUT)
