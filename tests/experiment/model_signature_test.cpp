#include "experiment/model_signature.h"
#include <gtest/gtest.h>
TEST(ModelSignature, Placeholder) {}
