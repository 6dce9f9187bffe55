# orderflow — the user's vocabulary. Anything longer than a line lives in scripts/.
#
#   make demo      bring up the local emulator, deploy, place an order, show its journey
#   make test      unit tests, infra template + cdk-nag tests, end-to-end tests on the emulator (IAM enforced)

SHELL := /bin/bash
.DEFAULT_GOAL := help

# AUTH=true: MiniStack enforces IAM (every call a function or the CDK CLI makes is checked against its
# role), behind TLS: the CDK bootstrap bucket and the stack's queues and topics refuse plain HTTP
# (aws:SecureTransport). `make test` runs the end-to-end tests so; any target takes AUTH=true.
AUTH       ?= false
ENDPOINT   ?= $(if $(filter true,$(AUTH)),https://localhost:4566,http://127.0.0.1:4566)
export AUTH
CUSTOMER   ?= demo
N          ?= 100
C          ?= 10
SKU        ?= SKU-100
# CONTEXT: more CDK context for deploy-local, e.g. CONTEXT="-c callbackTimeout=45". make test-e2e
# shortens the saga's payment callback timeout (300 s) so that a test watches one end an order.
CONTEXT    ?=
E2E_CONTEXT := -c callbackTimeout=45
PORT       := $(lastword $(subst :, ,$(ENDPOINT)))
export ORDERFLOW_ENDPOINT := $(ENDPOINT)
HOST_ARCH  := $(shell go env GOARCH)
CDK        := npx --no-install cdk
CDK_FLAGS  := --no-notices
# On an https endpoint, clients trust the emulator's self-signed certificate (scripts/emulator makes
# it): the CDK CLI and the SDKs read AWS_CA_BUNDLE (the CLI falls back to REQUESTS_CA_BUNDLE, which
# then wins over NODE_EXTRA_CA_CERTS), Go's net/http SSL_CERT_FILE, curl CURL_CA_BUNDLE.
TLS_DIR    := $(CURDIR)/.emulator/tls
TLS_ENV    := $(if $(filter https://%,$(ENDPOINT)),AWS_CA_BUNDLE=$(TLS_DIR)/ca-bundle.pem SSL_CERT_FILE=$(TLS_DIR)/ca-bundle.pem \
              REQUESTS_CA_BUNDLE=$(TLS_DIR)/ca-bundle.pem CURL_CA_BUNDLE=$(TLS_DIR)/ca-bundle.pem NODE_EXTRA_CA_CERTS=$(TLS_DIR)/server.crt)
# The CLI and the SDK both honour AWS_ENDPOINT_URL. test/test is the emulator's root, which no policy
# limits; under AUTH=true the CLI's deploy and publishing roles and the functions' roles are checked.
LOCAL_ENV  := AWS_ENDPOINT_URL=$(ENDPOINT) AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
              AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 $(TLS_ENV)
export CDK_DISABLE_CLI_TELEMETRY := true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1

.PHONY: help demo test test-unit test-e2e e2e deps chromium up down deploy-local synth deploy destroy lint lint-templates token trace replay redrive rescue inject bench load chaos restock fuzz

help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

demo: deps ## bring up the emulator, deploy, place an order and print its journey [ARGS="-token tok_declined"]
	go run ./scripts/emulator up
	$(MAKE) --no-print-directory deploy-local
	$(LOCAL_ENV) go run ./scripts/demo $(ARGS)

test: lint test-unit ## all tests: lint, unit, infra (template + cdk-nag), template linters and end to end on the emulator, IAM enforced
	$(MAKE) --no-print-directory test-e2e AUTH=true

# The unit tests run with the race detector, but for infra (template assertions in one goroutine,
# and the heaviest build). events runs twice: under -race its equivalence tests keep one mutation in
# 128 (what the detector looks for is shared state), without it every one. The payment protocol's
# long interleavings (three deliveries and a crash, some 16,500 schedules) run without it too: it
# is the exploration that found a charge left taken, and under the detector it takes minutes.
test-unit: deps chromium ## unit tests (race detector on), infra template tests and the linters on the AWS template (no emulator)
	go test -count=1 -race $$(go list ./... | grep -v -e '/infra$$')
	go test -count=1 -run '^TestInterleavings$$' ./functions/payment/ -args -interleavings.long
	ORDERFLOW_INFRA_TEST_OUT=$(CURDIR)/.emulator/cdk.out-test go test -count=1 ./infra/ ./events/
	@# the template `make deploy` sends to AWS, as the infra tests synthesized it (stack "Test")
	$(MAKE) --no-print-directory lint-templates TEMPLATE=.emulator/cdk.out-test/Test.template.json

FUZZTIME ?= 30s
fuzz: ## run every fuzz test for FUZZTIME each (their seed corpora run in make test) [FUZZTIME=5m ARGS="-run FuzzFold"]
	go run ./scripts/fuzz -fuzztime $(FUZZTIME) $(ARGS)

test-e2e: deps chromium ## deploy to a local emulator (started and stopped here), lint its template, run the end-to-end tests [AUTH=true]
	go run ./scripts/emulator run -- $(MAKE) --no-print-directory deploy-local lint-templates e2e \
		TEMPLATE=.emulator/cdk.out-$(PORT)/Orderflow.template.json CONTEXT="$(E2E_CONTEXT) $(CONTEXT)"

e2e: ## run the adapter contract tests and the end-to-end tests against an already deployed local stack
	ORDERFLOW_TEST_ENDPOINT=$(ENDPOINT) $(LOCAL_ENV) go test -count=1 -run 'Emulator|LedgerContract' ./functions/internal/... ./functions/payment/
	$(LOCAL_ENV) go test -count=1 -tags e2e -timeout 20m -skip '^TestChaos$$' ./scripts/e2e/
	@# alone, once the others are done: it arms faults in every function of the shared stack
	$(LOCAL_ENV) go test -count=1 -tags e2e -timeout 10m -run '^TestChaos$$' ./scripts/e2e/

deps: node_modules/.package-lock.json .venv/bin/cfn-lint ## install Go modules, the pinned CDK CLI and the pinned template linters
	go mod download

# cfn-lint, pinned in scripts/lint/requirements.txt, in the project's virtualenv (MiniStack's too:
# the two sets of requirements install side by side)
.venv/bin/cfn-lint: scripts/lint/requirements.txt scripts/python-constraints.txt
	@# a venv whose creation failed half-way (no python3-venv: bin/python and no pip) is made again
	@.venv/bin/python -m pip --version >/dev/null 2>&1 || python3 -m venv --clear .venv
	.venv/bin/python -m pip install --quiet --disable-pip-version-check -r scripts/lint/requirements.txt -c scripts/python-constraints.txt
	@touch $@

chromium: ## headless Chromium for the trace page tests (Debian package; installed when running as root)
	@command -v chromium >/dev/null && exit 0; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; } \
			|| echo "WARNING: could not install chromium: the trace page tests will skip"; \
	else \
		echo "chromium not found: the trace page tests will skip (install it: sudo apt-get install chromium)"; \
	fi

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

up: ## start MiniStack behind the emulator proxy on 127.0.0.1:4566 (installs it into .venv the first time) [AUTH=true: IAM enforced, https://localhost:4566]
	go run ./scripts/emulator up

down: ## stop the MiniStack that `make up` started
	go run ./scripts/emulator down

deploy-local: deps ## bootstrap and deploy the stack to the emulator, built for this machine's CPU [CONTEXT="-c placeOrderRate=5"]
	@mkdir -p .emulator
	@# bootstrap from outside the app folder, so the CLI does not synthesize the app twice
	cd .emulator && $(LOCAL_ENV) ../node_modules/.bin/cdk bootstrap aws://000000000000/us-east-1 $(CDK_FLAGS)
	@# MiniStack's CloudFormation refuses metric-math alarms: leave those alarms out (Api5xxRate, the consumers' …Stopped: README, emulator gaps)
	@# emulator=true: the allowances MiniStack's IAM evaluator needs (README, emulator gaps); never in the AWS template
	@# CHAOS_FAULTS (make chaos): the faults context value, armed in the functions it names
	$(LOCAL_ENV) $(CDK) deploy Orderflow -c arch=$(HOST_ARCH) -c emulator=true $(CONTEXT) $${CHAOS_FAULTS:+-c "faults=$$CHAOS_FAULTS"} --parameters MetricMathAlarms=false --require-approval never --progress events $(CDK_FLAGS) \
		--output .emulator/cdk.out-$(PORT) --outputs-file .emulator/outputs-$(PORT).json

synth: deps ## synthesize the CloudFormation template (arm64) and run cdk-nag
	$(CDK) synth $(CDK_FLAGS) > /dev/null

TEMPLATE ?= cdk.out/Orderflow.template.json
lint-templates: deps ## cfn-lint on a synthesized template (make synth first, or TEMPLATE=...); asl-validator on the state machine file and its synthesized definition
	go run ./scripts/lint -template $(TEMPLATE) -asl infra/workflow/order-fulfilment.asl.json

deploy: deps ## deploy to the AWS account of your current credentials (arm64); run `cdk bootstrap` once first
	$(CDK) deploy Orderflow $(CDK_FLAGS)

destroy: ## delete the stack from the AWS account of your current credentials
	$(CDK) destroy Orderflow $(CDK_FLAGS)

bench: ## handlers against their floor, cold start and warm invoke under the Lambda RIE against hello-world, zip sizes (no emulator) [ARGS="-out bench.md"]
	go run ./scripts/bench $(ARGS)

lint: deps ## gofmt, go vet (with the e2e tag), go mod tidy check, docs/asyncapi.json current and accepted by the AsyncAPI parser
	@# outside a git work tree (a zip, a copy) gofmt would get no files and read its standard input
	@files=$$(git ls-files '*.go') && test -n "$$files" || { echo "lint: no Go files from git ls-files: run it in a git clone" >&2; exit 1; }; \
		unformatted=$$(gofmt -l $$files) && test -z "$$unformatted" || { echo "$$unformatted"; exit 1; }
	go vet -tags e2e ./...
	go mod tidy -diff
	go run ./scripts/asyncapi -check

token: ## print an access token of a signed-in customer for curl (local stack): TOKEN=$(make -s token) [CUSTOMER=alice]
	@$(LOCAL_ENV) go run ./scripts/token -user $(CUSTOMER)

trace: ## show the journey of one order on the local stack: make trace ORDER=ORD-... [ARGS="--html trace.html"]
	@if [ -z "$(ORDER)" ]; then echo 'usage: make trace ORDER=ORD-… [ARGS="-html trace.html" or ARGS=-follow] (POST /orders returns the id)' >&2; exit 2; fi
	$(LOCAL_ENV) go run ./scripts/trace $(ARGS) $(ORDER)

replay: ## rebuild the projections by replaying the order-events stream from the start (local stack)
	$(LOCAL_ENV) go run ./scripts/replay $(ARGS)

redrive: ## move dead-lettered messages back to where they came from (local stack): make redrive [ARGS=-queue ...]
	$(LOCAL_ENV) go run ./scripts/redrive $(ARGS)

rescue: ## hand stalled executions without a rescue to the rescuer (a lost status change; local stack): make rescue [ARGS="-since 2h -dry-run"]
	$(LOCAL_ENV) go run ./scripts/rescue $(ARGS)

inject: ## put a duplicate or a v1 event on the bus to watch consumers cope (local stack): make inject ARGS=...
	$(LOCAL_ENV) go run ./scripts/inject $(ARGS)

load: ## place N orders at concurrency C (local stack), wait for all to end, reconcile, report latency, where the time goes and CPU [N=100 C=10 ARGS="-sku SKU-100"]
	$(LOCAL_ENV) go run ./scripts/load -n $(N) -c $(C) $(ARGS)

# make chaos: 300 orders, 30 in flight, unless N= and C= say otherwise (make load's defaults are smaller)
chaos: N = 300
chaos: C = 30
chaos: deps ## deploy locally with faults in every function (FAULTS='{"payment":{...}}' to choose), place N orders under them, redrive, reconcile; exit 1 on any loss [N=300 C=30]
	go run ./scripts/emulator up
	faults='$(FAULTS)'; if [ -z "$$faults" ]; then faults=$$(go run ./scripts/chaos -print-faults) || exit 1; fi; \
		echo "chaos: faults $$faults"; CHAOS_FAULTS="$$faults" $(MAKE) --no-print-directory deploy-local
	$(LOCAL_ENV) go run ./scripts/chaos -n $(N) -c $(C) $(ARGS); status=$$?; \
		echo "chaos: the local stack still has faults armed: \`make deploy-local\` disarms them"; exit $$status

# restock takes no default STOCK: a forgotten one would set the SKU's stock to whatever the default was.
restock: ## set a SKU's stock on the local stack, e.g. before a 1,000-order run: make restock SKU=SKU-100 STOCK=1000
	$(if $(STOCK),,$(error restock: STOCK=N is required (the units $(SKU) has after; N ≥ 0): make restock SKU=$(SKU) STOCK=1000))
	$(LOCAL_ENV) go run ./scripts/restock -sku $(SKU) -stock $(STOCK)
