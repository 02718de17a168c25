#!/usr/bin/env bash
# Prints the runtime identifier of this machine (linux-x64, linux-arm64, osx-x64, osx-arm64), or
# nothing when it is none of the four; the publish scripts default to it.
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) echo linux-x64 ;;
  Linux-aarch64) echo linux-arm64 ;;
  Darwin-x86_64) echo osx-x64 ;;
  Darwin-arm64) echo osx-arm64 ;;
esac
