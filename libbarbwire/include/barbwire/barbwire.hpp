#pragma once
// Umbrella include: every public header of libbarbwire except yaml.hpp
// (which needs yaml-cpp; include it yourself when you parse YAML configs).

#include "barbwire/version.hpp"
#include "barbwire/error.hpp"
#include "barbwire/clock.hpp"
#include "barbwire/container.hpp"
#include "barbwire/event.hpp"
#include "barbwire/config.hpp"
#include "barbwire/decode.hpp"
#include "barbwire/rules.hpp"
#include "barbwire/process_table.hpp"
#include "barbwire/dedup.hpp"
#include "barbwire/alert.hpp"
#include "barbwire/evidence.hpp"
#include "barbwire/held.hpp"
#include "barbwire/taint.hpp"
#include "barbwire/owner.hpp"
#include "barbwire/correlator.hpp"
#include "barbwire/kernel_filter.hpp"
#include "barbwire/trace.hpp"
#include "barbwire/baseline.hpp"
