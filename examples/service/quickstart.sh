set -euo pipefail
export FLEXCOORD_DATABASE_URL=sqlite:///quickstart.db
ADMIN=$(flexcoord service init)                       # the first administrator's key
flexcoord serve --port 8010 & SERVER=$!; trap 'kill $SERVER' EXIT
until curl -sf localhost:8010/ready >/dev/null; do sleep 0.5; done
api() { curl -s --fail-with-body -H "Authorization: Bearer $1" -H 'content-type: application/json' "${@:2}"; }
key() { api "$ADMIN" -X POST "localhost:8010/v1/parties/$1/credentials" | python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])'; }
for p in dso:dso mo:market_operator fsp-a:fsp; do
  api "$ADMIN" localhost:8010/v1/parties -d "{\"id\":\"${p%%:*}\",\"name\":\"${p%%:*}\",\"role\":\"${p##*:}\"}" >/dev/null
done
DSO=$(key dso); MO=$(key mo); FSP=$(key fsp-a)
# the DSO registers an MV area of 1-HVMV-mixed and a connection point on bus 12
api "$DSO" localhost:8010/v1/grid-areas -d "{\"id\":\"MV1.102\",\"bus_ids\":[$(seq -s, 0 12)],\"coupling_point_ids\":[\"trafo:0\"]}" >/dev/null
api "$DSO" localhost:8010/v1/connection-points -d '{"id":"cp-12","bus":12,"area_id":"MV1.102","coupling_point_id":"trafo:0"}' >/dev/null
# the FSP registers a 1 MW battery there and is prequalified for the product
api "$FSP" localhost:8010/v1/units -d '{"id":"bess-1","connection_point_id":"cp-12","technology":"bess","p_min_mw":-1,"p_max_mw":1,"energy_min_mwh":0.2,"energy_max_mwh":2,"energy_initial_mwh":1}' >/dev/null
api "$MO" localhost:8010/v1/products -d '{"id":"da-cm","kind":"activation","timeframe":"day_ahead","min_quantity":0.1}' >/dev/null
PQ=$(api "$FSP" localhost:8010/v1/prequalifications -d '{"resource_id":"bess-1","product_id":"da-cm","operator_id":"dso"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
api "$DSO" "localhost:8010/v1/prequalifications/$PQ/decisions" -d '{"status":"approved","valid_from":"2026-01-01T00:00:00Z","valid_until":"2030-01-01T00:00:00Z"}' >/dev/null
# a session for tomorrow whose gate closes in 20 s; the DSO's need and the FSP's bid at 10:00 UTC
DAY=$(date -u -d tomorrow +%F); OPEN=$(date -u -d '-1 min' +%FT%TZ); CLOSE=$(date -u -d '+20 sec' +%FT%TZ)
MTU="{\"start\":\"${DAY}T10:00:00Z\",\"end\":\"${DAY}T10:15:00Z\",\"quantity\":QTY}"
api "$MO" localhost:8010/v1/sessions -d "{\"id\":\"s1\",\"product_id\":\"da-cm\",\"delivery_day\":\"$DAY\",\"gate_opens_at\":\"$OPEN\",\"gate_closes_at\":\"$CLOSE\"}" >/dev/null
api "$DSO" localhost:8010/v1/sessions/s1/needs -d "{\"id\":\"n1\",\"location\":{\"kind\":\"area\",\"area_id\":\"MV1.102\"},\"direction\":\"up\",\"quantities\":[${MTU/QTY/0.3}],\"activation_price_cap_eur_per_mwh\":300}" >/dev/null
api "$FSP" localhost:8010/v1/sessions/s1/bids -d "{\"id\":\"b1\",\"resource_id\":\"bess-1\",\"direction\":\"up\",\"quantities\":[${MTU/QTY/0.5}],\"activation_price_eur_per_mwh\":80}" >/dev/null
# after the gate closes the worker clears the session on the grid; the FSP reads its award
until api "$FSP" localhost:8010/v1/sessions/s1/clearing | grep -q '"status":"done"'; do sleep 2; done
api "$FSP" localhost:8010/v1/sessions/s1/awards; echo
