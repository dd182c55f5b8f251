# Thin entry points; the work is done by tools/dev.sh (see README.rst).
.PHONY: demo test fuzz lint bench bench-scale venv

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

# Not part of `make bench`: a backlog of 100,000 reminders and a log of 1,000,000 messages (long).
bench-scale:
	tools/dev.sh bench-scale

venv:
	tools/dev.sh venv

# Developer tools (see README.rst): the translation template and its merge, the description page's screenshots.
.PHONY: i18n screenshots
i18n:
	tools/dev.sh i18n

screenshots:
	tools/dev.sh screenshots
