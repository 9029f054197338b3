"""The synthetic demo district that `wenming demo` seeds on top of 大洼区's real codes."""
