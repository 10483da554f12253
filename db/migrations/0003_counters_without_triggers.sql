-- relation_counters are kept by the statements that write relations (db/relations.py), in the
-- same transaction and under the same row locks, instead of by statement triggers: on Citus a
-- trigger runs on the shard, where joining its transition table with the associations table is
-- refused, and triggers on distributed tables need a setting Citus calls unsafe.
drop trigger relations_counted_on_insert on relations;
drop trigger relations_counted_on_delete on relations;
drop function relata_count_inserted_relations();
drop function relata_count_deleted_relations();
