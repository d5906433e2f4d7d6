"""Drives the embedded server with PyMongo (a second, independent client) and prints a JSON summary."""
import json
import sys

import pymongo
from bson.int64 import Int64
from pymongo.errors import DuplicateKeyError, OperationFailure

uri = sys.argv[1]
client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)
out = {"pymongo": pymongo.version}
out["ping"] = client.admin.command("ping")["ok"]
out["version"] = client.server_info()["version"]
coll = client.interop.people
coll.drop()
coll.insert_many([{"_id": i, "name": "p%d" % i, "n": Int64(i), "score": i * 0.5} for i in range(250)])
out["count"] = coll.count_documents({})
out["batched"] = len(list(coll.find({}, batch_size=7)))
doc = coll.find_one({"_id": 3})
out["int64_kept"] = isinstance(doc["n"], Int64)
out["double_kept"] = isinstance(doc["score"], float)
coll.update_many({"_id": {"$lt": 10}}, {"$inc": {"n": 1}})
out["updated"] = coll.find_one({"_id": 1})["n"]
out["agg"] = list(coll.aggregate([{"$match": {"_id": {"$lt": 4}}}, {"$group": {"_id": None, "total": {"$sum": "$n"}}}]))[0]["total"]
coll.create_index("name", unique=True)
try:
    coll.insert_one({"_id": 1000, "name": "p1"})
    out["dup"] = "accepted"
except DuplicateKeyError as e:
    out["dup"] = e.code
try:
    client.interop.command("noSuchCommand")
except OperationFailure as e:
    out["unknown"] = e.code
out["deleted"] = coll.delete_many({"_id": {"$gte": 200}}).deleted_count
print(json.dumps(out))
client.close()
