#!/usr/bin/env python3
"""An RTSP camera stand-in (GStreamer's RTSP server, Debian: gir1.2-gst-rtsp-server-1.0 + python3-gi).

Usage: rtsp-camera.py <port> [user:password]
Serves /cam: H.264 320x240 25 fps (keyframe each second) and G.711 mu-law 8 kHz mono, like an IP camera.
Prints "READY <port>" once listening (port 0 picks one). Runs until killed.
"""
import sys
import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import Gst, GstRtspServer, GLib  # noqa: E402

Gst.init(None)
port = sys.argv[1] if len(sys.argv) > 1 else "0"
server = GstRtspServer.RTSPServer()
server.set_address("127.0.0.1")
server.set_service(port)
factory = GstRtspServer.RTSPMediaFactory()
factory.set_launch(
    "( videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=25/1 "
    "! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=25 ! video/x-h264,profile=baseline ! rtph264pay name=pay0 pt=96 "
    "audiotestsrc is-live=true wave=sine freq=440 ! audioconvert ! audioresample ! audio/x-raw,rate=8000,channels=1 "
    "! mulawenc ! rtppcmupay name=pay1 pt=0 )"
)
factory.set_shared(True)
if len(sys.argv) > 2:
    user, password = sys.argv[2].split(":", 1)
    auth = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken()
    token.set_string("media.factory.role", "user")
    auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
    server.set_auth(auth)
    perms = GstRtspServer.RTSPPermissions()
    perms.add_role_from_structure(Gst.Structure.new_empty("user"))
    perms.add_permission_for_role("user", "media.factory.access", True)
    perms.add_permission_for_role("user", "media.factory.construct", True)
    factory.set_permissions(perms)
server.get_mount_points().add_factory("/cam", factory)
server.attach(None)
print("READY %d" % server.get_bound_port(), flush=True)
GLib.MainLoop().run()
