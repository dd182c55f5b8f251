# Thin entry points; the work is done by tools/dev.sh (see README.rst).
.PHONY: demo test fuzz lint bench venv

demo:
	tools/dev.sh demo

test:
	tools/dev.sh test

fuzz:
	tools/dev.sh fuzz

lint:
	tools/dev.sh lint

bench:
	tools/dev.sh bench

venv:
	tools/dev.sh venv
