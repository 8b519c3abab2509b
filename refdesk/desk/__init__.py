"""refdesk desk: a local page to run the referral week from, on 127.0.0.1 only.

Every page calls the same library functions as the commands; the desk has no logic of its own.
"""
