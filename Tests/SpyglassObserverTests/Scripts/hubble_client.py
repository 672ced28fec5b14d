"""An independent Hubble API client: grpcio with message classes protoc generated from Protos/ at test time.

usage: hubble_client.py STUBS_DIR TARGET [--ca CA --cert CERT --key KEY --server-name NAME]
Prints one JSON object: server status, GetFlows results (last 5; xwing drops), Peer.Notify's first message.
"""
import json
import sys

sys.path.insert(0, sys.argv[1])
import grpc  # noqa: E402
from google.protobuf import json_format  # noqa: E402
from flow import flow_pb2  # noqa: E402
from observer import observer_pb2  # noqa: E402
from peer import peer_pb2  # noqa: E402

target = sys.argv[2]
opts = dict(zip(sys.argv[3::2], sys.argv[4::2]))
if "--ca" in opts:
    creds = grpc.ssl_channel_credentials(
        root_certificates=open(opts["--ca"], "rb").read(),
        private_key=open(opts["--key"], "rb").read() if "--key" in opts else None,
        certificate_chain=open(opts["--cert"], "rb").read() if "--cert" in opts else None,
    )
    channel = grpc.secure_channel(target, creds, options=[("grpc.ssl_target_name_override", opts.get("--server-name", "localhost"))])
else:
    channel = grpc.insecure_channel(target)


def call(kind, method, req, resp_cls):
    fn = getattr(channel, kind)(method, request_serializer=lambda m: m.SerializeToString(), response_deserializer=resp_cls.FromString)
    return fn(req, timeout=10)


out = {}
status = call("unary_unary", "/observer.Observer/ServerStatus", observer_pb2.ServerStatusRequest(), observer_pb2.ServerStatusResponse)
out["status"] = {"num_flows": status.num_flows, "max_flows": status.max_flows, "seen_flows": status.seen_flows, "version": status.version}

last = call("unary_stream", "/observer.Observer/GetFlows", observer_pb2.GetFlowsRequest(number=5), observer_pb2.GetFlowsResponse)
out["last"] = [json_format.MessageToDict(r, preserving_proto_field_name=True) for r in last]

req = observer_pb2.GetFlowsRequest(number=1000, whitelist=[
    flow_pb2.FlowFilter(source_pod=["default/xwing"], verdict=[flow_pb2.DROPPED]),
    flow_pb2.FlowFilter(destination_pod=["default/xwing"], verdict=[flow_pb2.DROPPED]),
])
drops = call("unary_stream", "/observer.Observer/GetFlows", req, observer_pb2.GetFlowsResponse)
out["drops"] = [
    {"pod": r.flow.source.pod_name, "verdict": flow_pb2.Verdict.Name(r.flow.verdict),
     "reason": flow_pb2.DropReason.Name(r.flow.drop_reason_desc), "summary": r.flow.Summary,
     "is_reply": r.flow.HasField("is_reply") and r.flow.is_reply.value}
    for r in drops
]

try:
    bad = observer_pb2.GetFlowsRequest(first=True, follow=True)
    list(call("unary_stream", "/observer.Observer/GetFlows", bad, observer_pb2.GetFlowsResponse))
    out["bad_request"] = "OK"
except grpc.RpcError as e:
    out["bad_request"] = e.code().name

peers = call("unary_stream", "/peer.Peer/Notify", peer_pb2.NotifyRequest(), peer_pb2.ChangeNotification)
first = next(iter(peers))
out["peer"] = {"name": first.name, "address": first.address, "type": peer_pb2.ChangeNotificationType.Name(first.type),
               "tls_server_name": first.tls.server_name}
peers.cancel()
print(json.dumps(out))
